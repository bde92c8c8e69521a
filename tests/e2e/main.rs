//! End-to-end tests of the built app (`dist/`, from `trunk build --release`) in headless Chromium,
//! driven through ChromeDriver. A tiny static file server in this process serves `dist/` on
//! 127.0.0.1 and can make the model files fail.
//!
//! Nothing here is skipped silently: without `dist/`, Chromium or ChromeDriver the tests FAIL and
//! say to run `scripts/test.sh`, which installs the tools and builds the app first.
#![cfg(not(target_arch = "wasm32"))]

mod concepts;
mod context;
mod files;
mod loading;
mod offline;
mod panel;
mod privacy;
mod streaming;
mod support;
