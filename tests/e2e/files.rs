//! Opening or dropping a text file; other files are refused.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_text_file_can_be_opened_or_dropped_and_other_files_are_refused() {
    let (_server, browser) = open_app().await;

    let note = browser.profile.join("note.txt");
    std::fs::write(&note, SENTENCE).unwrap();
    let input = browser
        .client()
        .find(Locator::Css("input#file"))
        .await
        .unwrap();
    input.send_keys(note.to_str().unwrap()).await.unwrap();
    let marks = browser.annotated(SENTENCE).await;
    assert!(!marks.is_empty());
    let value = browser.input_value().await;
    assert_eq!(value, json!(SENTENCE));

    // Dropping a file on the text box reads it the same way.
    let dropped = "Haloperidol caused tardive dyskinesia.";
    browser.client().execute(
        "const transfer = new DataTransfer(); \
         transfer.items.add(new File([arguments[0]], 'dropped.txt', { type: 'text/plain' })); \
         document.querySelector('#input').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));",
        vec![json!(dropped)],
    ).await.unwrap();
    let marks = browser.annotated(dropped).await;
    assert!(
        marks
            .iter()
            .any(|(t, l, _)| t == "Haloperidol" && l == "Chemical"),
        "{marks:?}"
    );
    assert_eq!(browser.input_value().await, json!(dropped));

    let image = browser.profile.join("scan.png");
    std::fs::write(&image, [0x89, b'P', b'N', b'G']).unwrap();
    let input = browser
        .client()
        .find(Locator::Css("input#file"))
        .await
        .unwrap();
    input.send_keys(image.to_str().unwrap()).await.unwrap();
    let error = browser
        .wait_for(".file-error", Duration::from_secs(10))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        error.contains("scan.png is not a plain-text file"),
        "{error}"
    );
    let value = browser.input_value().await;
    assert_eq!(
        value,
        json!(dropped),
        "a refused file leaves the text alone"
    );
    browser.close().await;
}
