// Download
