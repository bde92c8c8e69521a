//! Medlight's web app. The page (`ui`) never touches the model: it sends text to a Web Worker
//! (`src/worker/main.rs`) that owns the model, so annotation never blocks typing or scrolling.

pub mod export;
pub mod highlight;
pub mod integrity;
pub mod protocol;
pub mod relaxed_simd;
pub mod results;
pub mod schedule;
pub mod ui;
