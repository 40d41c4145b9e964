// The chat page owns the user socket; notify.js then only renders its notifications.
// (A file, not an inline script: the Content-Security-Policy allows only 'self' scripts.)
window.OfficeHubSocketManaged = true;
