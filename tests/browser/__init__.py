"""Browser tests (Playwright driving /usr/bin/chromium)."""
