//! A long text streams in while the page stays usable.

use std::time::{Duration, Instant};

use fantoccini::Locator;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_long_text_streams_in_while_the_page_stays_usable() {
    let (_server, browser) = open_app().await;
    // Main-thread tasks over 50 ms, reported (not asserted: timings on a busy 2-core box vary).
    browser.client().execute(
        "window.__longest = 0; new PerformanceObserver((list) => { for (const e of list.getEntries()) \
         window.__longest = Math.max(window.__longest, e.duration); }).observe({ type: 'longtask', buffered: false });",
        vec![],
    ).await.unwrap();

    let paragraph = "Cisplatin-induced nephrotoxicity was seen in patients treated for lung cancer. \
                     Haloperidol may cause tardive dyskinesia, and aspirin can cause gastric bleeding.\n";
    let long = paragraph.repeat(50_000 / paragraph.len() + 1);
    assert!(long.chars().count() >= 50_000);
    let started = Instant::now();
    browser.paste_text(&long).await;
    // Results stream in: the run is seen part-way, with a progress bar.
    let progress = browser
        .wait_for(".stats.running progress", Duration::from_secs(60))
        .await;
    let first = progress.attr("value").await.unwrap().unwrap_or_default();
    browser
        .wait_for(
            ".annotated[data-state='running'] mark",
            Duration::from_secs(60),
        )
        .await;

    // Typing works while it runs, and the edit supersedes the running annotation.
    let extra = " Aspirin.";
    let input = browser
        .client()
        .find(Locator::Css("textarea#input"))
        .await
        .unwrap();
    input.send_keys(extra).await.unwrap();
    let value = browser.input_value().await;
    let value = value.as_str().unwrap().to_string();
    assert!(
        value.ends_with(extra),
        "the keystrokes did not arrive: …{:?}",
        &value[value.len() - 20..]
    );
    let still_running = browser
        .client()
        .find_all(Locator::Css(".annotated[data-state='running']"))
        .await
        .unwrap();

    let marks = browser.annotated(&value).await;
    let elapsed = started.elapsed();
    assert!(
        marks.len() > 1000,
        "{} highlights in {} characters",
        marks.len(),
        value.len()
    );
    assert!(marks.iter().filter(|m| m.0 == "Haloperidol").count() > 100);
    let longest = browser
        .client()
        .execute("return window.__longest;", vec![])
        .await
        .unwrap();
    println!(
        "50k characters: first progress value {first}%, typed while running: {}, {} highlights, \
         {:.1} s to the end, longest main-thread task {longest} ms",
        !still_running.is_empty(),
        marks.len(),
        elapsed.as_secs_f64()
    );
    browser.close().await;
}
