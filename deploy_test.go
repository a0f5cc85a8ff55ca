package repoconnect_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/repoconnect/repoconnect/services/secrets"
)

// composeEnvFile is the env file docker-compose.yaml reads the shared sealing keys from; it is
// created by the operator (the README's command) and never committed.
const composeEnvFile = "deploy/repoconnect.env"

// loadCompose loads docker-compose.yaml from dir with compose-go, the library Docker Compose
// itself uses: the file is validated against the Compose specification's JSON schema, then
// interpolated and resolved (env files read unless skipEnv).
func loadCompose(t *testing.T, dir string, skipEnv bool) (*types.Project, error) {
	t.Helper()
	details := types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "docker-compose.yaml")}},
		Environment: types.Mapping{},
	}
	return loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("repoconnect", true)
		o.SkipResolveEnvironment = skipEnv
	})
}

// composeCopy copies docker-compose.yaml and deploy/ into a temporary directory, with an env
// file holding a key made as the compose file's comment says when withKey is set. It returns
// the directory and the key spec.
func composeCopy(t *testing.T, withKey bool) (dir, spec string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "deploy"), os.DirFS("deploy")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("docker-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(dir, composeEnvFile)) // an operator's own file is not the test's
	if withKey {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			t.Fatal(err)
		}
		spec = "k1:" + base64.StdEncoding.EncodeToString(key)
		if err := os.WriteFile(filepath.Join(dir, composeEnvFile), []byte(secrets.EnvKeys+"="+spec+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, spec
}

// TestComposeFile checks the docker-compose.yaml example against the Compose schema and for
// what the deployment depends on: Redis with AOF always and a volume; two repoconnect
// instances on that Redis with the same sealing keys from the env file, a healthcheck by
// `repoconnect healthcheck` and a start after Redis is healthy; a proxy whose upstreams are
// both instances, started after they are healthy; a healthcheck on every service; no secret
// written in the file.
func TestComposeFile(t *testing.T) {
	dir, spec := composeCopy(t, true)
	p, err := loadCompose(t, dir, false)
	if err != nil {
		t.Fatalf("docker-compose.yaml does not load as a valid Compose file: %v", err)
	}

	redis, ok := p.Services["redis"]
	if !ok {
		t.Fatalf("no service redis; services: %v", p.ServiceNames())
	}
	cmd := strings.Join(redis.Command, " ")
	for _, want := range []string{"--appendonly yes", "--appendfsync always", "--maxmemory-policy noeviction"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("redis command %q lacks %q", cmd, want)
		}
	}
	if !slices.ContainsFunc(redis.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Type == types.VolumeTypeVolume && v.Target == "/data" }) {
		t.Errorf("redis keeps its append-only file in no named volume at /data: %+v", redis.Volumes)
	}

	var instances []string
	for name, s := range p.Services {
		if !slices.Contains(s.Command, "serve") {
			continue
		}
		instances = append(instances, name)
		if i := slices.Index(s.Command, "--store"); i < 0 || i+1 >= len(s.Command) || s.Command[i+1] != "redis://redis:6379/0" {
			t.Errorf("%s: command %q does not use --store redis://redis:6379/0", name, s.Command)
		}
		if !slices.Contains(s.Command, "--require-aof") {
			t.Errorf("%s: command %q lacks --require-aof (refuse a Redis that could lose acknowledged writes)", name, s.Command)
		}
		if s.HealthCheck == nil || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), "repoconnect healthcheck") {
			t.Errorf("%s: the healthcheck is not `repoconnect healthcheck`: %+v", name, s.HealthCheck)
		}
		if d, ok := s.DependsOn["redis"]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s: does not wait for redis to be healthy: %+v", name, s.DependsOn)
		}
		if got := s.Environment[secrets.EnvKeys]; got == nil || *got != spec {
			t.Errorf("%s: %s does not come from %s", name, secrets.EnvKeys, composeEnvFile)
		} else if _, _, err := secrets.ParseKey(*got); err != nil {
			t.Errorf("%s: the key made as documented does not parse: %v", name, err)
		}
		if s.Build == nil || s.Build.Target != "runtime" {
			t.Errorf("%s: not built from the Dockerfile's runtime target: %+v", name, s.Build)
		}
	}
	slices.Sort(instances)
	if len(instances) != 2 {
		t.Fatalf("want two repoconnect instances (services running serve), got %v", instances)
	}

	proxy, ok := p.Services["proxy"]
	if !ok {
		t.Fatalf("no service proxy; services: %v", p.ServiceNames())
	}
	for _, name := range instances {
		if d, ok := proxy.DependsOn[name]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("proxy: does not wait for %s to be healthy: %+v", name, proxy.DependsOn)
		}
	}
	var caddyfile string
	for _, v := range proxy.Volumes {
		if v.Type == types.VolumeTypeBind && v.Target == "/etc/caddy/Caddyfile" {
			caddyfile = v.Source
		}
	}
	if caddyfile == "" {
		t.Fatalf("proxy: no Caddyfile mounted at /etc/caddy/Caddyfile: %+v", proxy.Volumes)
	}
	upstreams := caddyUpstreams(t, caddyfile)
	for _, name := range instances {
		if !slices.Contains(upstreams, name+":8080") {
			t.Errorf("the proxy's upstreams %v do not name %s:8080", upstreams, name)
		}
	}

	for name, s := range p.Services {
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
			t.Errorf("%s: no healthcheck", name)
		}
	}
}

// caddyUpstreams returns the upstreams of the reverse_proxy directives of the Caddyfile.
func caddyUpstreams(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ups []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == "reverse_proxy" {
			for _, u := range f[1:] {
				if u != "{" {
					ups = append(ups, u)
				}
			}
		}
	}
	return ups
}

// TestComposeFileHoldsNoSecret: the compose file sets no secret itself (the sealing keys come
// from the env file, which deploy/.gitignore keeps out of the repository), holds nothing that
// looks like a key, and does not load without the env file, so a forgotten key stops the
// deployment instead of each instance creating a key of its own.
func TestComposeFileHoldsNoSecret(t *testing.T) {
	raw, err := os.ReadFile("docker-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// base64 of 32 bytes, the shape of a sealing key (the README's generation command).
	if m := regexp.MustCompile(`[A-Za-z0-9+/_-]{43}=?`).Find(raw); m != nil {
		t.Errorf("docker-compose.yaml holds something shaped like a key: %.8s…", m)
	}
	if regexp.MustCompile(`redis://[^@\s"]+@`).Match(raw) {
		t.Error("docker-compose.yaml has a Redis URL with credentials")
	}

	dir, _ := composeCopy(t, false)
	p, err := loadCompose(t, dir, true)
	if err != nil {
		t.Fatalf("docker-compose.yaml does not load: %v", err)
	}
	secretish := regexp.MustCompile(`(?i)secret|password|token|_PAT$|SEALING_KEYS$|API_?KEY`)
	for name, s := range p.Services {
		for k, v := range s.Environment {
			if secretish.MatchString(k) && v != nil {
				t.Errorf("%s: environment %s is set in the compose file; put it in %s", name, k, composeEnvFile)
			}
		}
		if slices.Contains(s.Command, "serve") && !slices.ContainsFunc(s.EnvFiles, func(e types.EnvFile) bool {
			return filepath.ToSlash(e.Path) == filepath.ToSlash(filepath.Join(dir, composeEnvFile)) && bool(e.Required)
		}) {
			t.Errorf("%s: the env file %s is not required: %+v", name, composeEnvFile, s.EnvFiles)
		}
	}

	if _, err := loadCompose(t, dir, false); err == nil || !strings.Contains(err.Error(), "repoconnect.env") {
		t.Errorf("loading without %s: %v; want an error naming the file", composeEnvFile, err)
	}
	ignore, err := os.ReadFile("deploy/.gitignore")
	if err != nil || !slices.Contains(strings.Fields(string(ignore)), filepath.Base(composeEnvFile)) {
		t.Errorf("deploy/.gitignore does not keep %s out of the repository (%v)", composeEnvFile, err)
	}
}

// dockerStage is one FROM … stage of a Dockerfile: its base, name and instructions (continued
// lines joined).
type dockerStage struct {
	base, name string
	instr      []string
}

// parseDockerfile splits the Dockerfile's text into stages. It handles what this repository's
// Dockerfile uses: comments, backslash continuations, FROM base [AS name].
func parseDockerfile(t *testing.T, path string) []dockerStage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages []dockerStage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		f := strings.Fields(line)
		if strings.EqualFold(f[0], "FROM") {
			s := dockerStage{base: f[len(f)-1]}
			for i, w := range f {
				if strings.EqualFold(w, "AS") && i+1 < len(f) && i > 0 {
					s.base, s.name = f[i-1], f[i+1]
				}
			}
			if len(f) == 2 {
				s.base = f[1]
			}
			stages = append(stages, s)
			return
		}
		if len(stages) == 0 {
			t.Fatalf("%s: instruction before FROM: %s", path, line)
		}
		stages[len(stages)-1].instr = append(stages[len(stages)-1].instr, line)
	}
	for line := range strings.Lines(string(b)) {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return stages
}

// instrs returns the stage's instructions of the given keyword (upper case), without it.
func (s dockerStage) instrs(keyword string) []string {
	var out []string
	for _, in := range s.instr {
		if k, rest, _ := strings.Cut(in, " "); strings.EqualFold(k, keyword) {
			out = append(out, strings.TrimSpace(rest))
		}
	}
	return out
}

// TestDockerfile: the image `docker build .` makes (the last stage, runtime) installs no git,
// runs as a user that is not root, has a HEALTHCHECK by `repoconnect healthcheck`, keeps its
// data in a volume and serves on 0.0.0.0:8080; the simulator, which needs git, is its own
// target; the Go of the build stage is go.mod's.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "Dockerfile")
	if len(stages) < 3 {
		t.Fatalf("want a build stage, an azdosim target and the runtime image; got %d stages", len(stages))
	}
	rt := stages[len(stages)-1]
	if rt.name != "runtime" {
		t.Errorf("the last stage (the default target) is %q, want runtime", rt.name)
	}
	gitInstall := regexp.MustCompile(`(?i)\b(apt-get|apt|apk|dnf|yum|microdnf)\b.*\binstall\b.*\bgit\b`)
	if strings.Contains(strings.ToLower(rt.base), "golang") {
		t.Errorf("runtime: based on %s, a Go toolchain image", rt.base)
	}
	if runs := strings.Join(rt.instrs("RUN"), " "); regexp.MustCompile(`(?i)\bgit\b`).MatchString(runs) {
		t.Errorf("runtime: a RUN mentions git: %s", runs)
	}
	for _, c := range rt.instrs("COPY") {
		if strings.Contains(c, "git") {
			t.Errorf("runtime: copies git: COPY %s", c)
		}
	}
	users := rt.instrs("USER")
	if len(users) == 0 {
		t.Error("runtime: no USER: the image would run as root")
	}
	for _, u := range users {
		if name, _, _ := strings.Cut(u, ":"); name == "root" || name == "0" {
			t.Errorf("runtime: USER %s is root", u)
		}
	}
	hc := rt.instrs("HEALTHCHECK")
	if len(hc) != 1 || !regexp.MustCompile(`CMD \["repoconnect",\s*"healthcheck"`).MatchString(hc[0]) {
		t.Errorf("runtime: want one HEALTHCHECK … CMD [\"repoconnect\", \"healthcheck\"], got %q", hc)
	}
	if v := rt.instrs("VOLUME"); !slices.Contains(v, "/data") {
		t.Errorf("runtime: the data directory is not a volume: VOLUME %q", v)
	}
	if e := rt.instrs("EXPOSE"); !slices.Contains(e, "8080") {
		t.Errorf("runtime: EXPOSE %q, want 8080", e)
	}
	if c := rt.instrs("CMD"); len(c) != 1 || c[0] != `["serve", "--addr", "0.0.0.0:8080"]` {
		t.Errorf("runtime: CMD %q, want serve --addr 0.0.0.0:8080", c)
	}

	var sim *dockerStage
	for i := range stages {
		if stages[i].name == "azdosim" {
			sim = &stages[i]
		}
	}
	if sim == nil || !gitInstall.MatchString(strings.Join(sim.instrs("RUN"), " ")) {
		t.Error("no azdosim target installing git (the simulator serves repositories with git http-backend)")
	}

	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if goLine == nil || !strings.HasPrefix(stages[0].base, "golang:"+string(goLine[1])+"-") {
		t.Errorf("the build stage %s is not go.mod's Go (%s)", stages[0].base, goLine)
	}
}
