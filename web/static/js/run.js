// repoconnect pages: run (see app.js for what every page shares).
