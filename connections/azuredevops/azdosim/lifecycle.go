package azdosim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background until Close; with
// Options.SSHAddr set it serves SSH as well (sshserver.go).
// Errors: listen failure, or the server already started.
func (s *Server) Start(addr string) error {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.httpSrv != nil {
		return errors.New("azdosim: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("azdosim: listen: %w", err)
	}
	if err := s.startSSH(); err != nil {
		_ = ln.Close()
		return err
	}
	s.conns = map[net.Conn]http.ConnState{}
	s.httpSrv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second, ConnState: s.trackConn}
	s.baseURL = strings.TrimSuffix("http://"+ln.Addr().String()+"/"+strings.Join(s.vdir, "/"), "/")
	go func(srv *http.Server) { _ = srv.Serve(ln) }(s.httpSrv)
	return nil
}

// URL returns the base URL after Start: scheme, listen address and virtual directory, without
// a trailing slash (e.g. "http://127.0.0.1:43121/tfs"). Empty before Start.
func (s *Server) URL() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.baseURL
}

// trackConn records the state of every connection, for closeNewConns.
func (s *Server) trackConn(c net.Conn, st http.ConnState) {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if st == http.StateClosed || st == http.StateHijacked {
		delete(s.conns, c)
		return
	}
	s.conns[c] = st
}

// closeNewConns closes connections on which no request has arrived yet (a client transport
// dialled them but never used them): http.Server.Shutdown would wait 5 seconds for them, as
// httptest.Server.Close does not.
func (s *Server) closeNewConns() {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	for c, st := range s.conns {
		if st == http.StateNew {
			_ = c.Close()
		}
	}
}

// Close stops serving (closing open connections) and removes the temporary data directory
// when New created it. Imported repositories and an explicit DataDir are left alone.
func (s *Server) Close() error {
	s.srvMu.Lock()
	srv := s.httpSrv
	s.httpSrv = nil
	s.srvMu.Unlock()
	s.hooks.q.close()
	s.closeSSH()
	var errs []error
	if srv != nil {
		s.closeNewConns()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, srv.Close())
		}
		cancel()
	}
	if s.removeData && s.dataDir != "" {
		errs = append(errs, os.RemoveAll(s.dataDir))
	}
	return errors.Join(errs...)
}
