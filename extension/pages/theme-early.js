// Runs before the page paints: applies the cached theme so a dark-theme
// user never sees a white flash. common.js refreshes it from preferences.
'use strict';
try {
  const theme = localStorage.getItem('davsync.theme');
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
} catch (e) { /* storage unavailable: the system theme applies */ }
