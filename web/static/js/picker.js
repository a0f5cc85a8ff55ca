// repoconnect pages: picker (see app.js for what every page shares).
