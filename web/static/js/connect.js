// repoconnect pages: connect (see app.js for what every page shares).
