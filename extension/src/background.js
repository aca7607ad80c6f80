// The service worker: only opens the side panel. Clicking the toolbar icon opens it here rather
// than through `openPanelOnActionClick`, because only a click that reaches `action.onClicked`
// grants activeTab (measured in Chromium 156: with openPanelOnActionClick the panel opens but
// the tab stays unreadable). Nothing long runs in this worker: the engine lives in the offscreen
// document and talks to the panel over a port, so Chrome stopping this worker when it is idle
// changes nothing.
chrome.action.onClicked.addListener((tab) => {
  // Called at once, inside the click's user gesture, which sidePanel.open requires.
  chrome.sidePanel.open({ windowId: tab.windowId }).catch((e) => console.error('brasa: the side panel did not open:', e.message));
});
