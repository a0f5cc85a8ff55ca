// repoconnect pages: check (see app.js for what every page shares).
