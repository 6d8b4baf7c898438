package browser

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// ErrNotFound means no Chromium-based browser was found.
var ErrNotFound = errors.New("no Chromium, Chrome or Edge found: install one or give --browser-path")

// candidates lists, for the running OS, the program names looked up on PATH
// and the usual install locations, in order of preference.
func candidates() (names, paths []string) {
	switch runtime.GOOS {
	case "windows":
		var ps []string
		for _, env := range []string{"ProgramFiles", "ProgramFiles(x86)", "LocalAppData"} {
			base := os.Getenv(env)
			if base == "" {
				continue
			}
			ps = append(ps,
				filepath.Join(base, `Microsoft\Edge\Application\msedge.exe`),
				filepath.Join(base, `Google\Chrome\Application\chrome.exe`),
				filepath.Join(base, `Chromium\Application\chrome.exe`))
		}
		return []string{"msedge.exe", "chrome.exe"}, ps
	case "darwin":
		home, _ := os.UserHomeDir()
		ps := []string{
			"/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
			"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
			"/Applications/Chromium.app/Contents/MacOS/Chromium",
		}
		if home != "" {
			ps = append(ps, filepath.Join(home, ps[1][1:]))
		}
		return nil, ps
	default:
		return []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "microsoft-edge", "microsoft-edge-stable"},
			[]string{"/usr/bin/chromium", "/snap/bin/chromium", "/opt/google/chrome/chrome", "/opt/microsoft/msedge/msedge"}
	}
}

// Find returns the browser to start: explicit when it names an existing
// file, else the first Chromium, Chrome or Edge found on PATH or in the
// usual install locations.
func Find(explicit string) (string, error) {
	if explicit != "" {
		if p, err := exec.LookPath(explicit); err == nil {
			return p, nil
		}
		if st, err := os.Stat(explicit); err == nil && !st.IsDir() {
			return explicit, nil
		}
		return "", errors.New("browser " + explicit + " not found")
	}
	names, paths := candidates()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", ErrNotFound
}
