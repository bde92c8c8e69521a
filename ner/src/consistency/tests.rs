use super::*;

fn run(text: &[&str], tags: &[&[&str]]) -> Vec<Vec<String>> {
    let labels = LabelSet::from_types(&["Chemical", "Disease"]);
    let words: Vec<Vec<&str>> = text.iter().map(|s| s.split(' ').collect()).collect();
    let mut ids: Vec<Vec<usize>> = tags
        .iter()
        .map(|s| s.iter().map(|t| labels.id(t).unwrap()).collect())
        .collect();
    harmonise(&words, &mut ids, &labels);
    ids.iter()
        .map(|s| s.iter().map(|&t| labels.tag(t).to_string()).collect())
        .collect()
}

#[test]
fn an_entity_found_once_is_found_everywhere_in_the_text() {
    let out = run(
        &[
            "neuroleptic malignant syndrome ( NMS ) .",
            "NMS recurred ; no nms then",
        ],
        &[
            &[
                "B-Disease",
                "I-Disease",
                "I-Disease",
                "O",
                "B-Disease",
                "O",
                "O",
            ],
            &["O", "O", "O", "O", "O", "O"],
        ],
    );
    assert_eq!(
        out[1],
        ["B-Disease", "O", "O", "O", "B-Disease", "O"],
        "case-insensitive, whole words"
    );
}

#[test]
fn the_majority_type_wins_and_a_tie_changes_no_entity() {
    let out = run(
        &["CM and CM and CM", "TP or TP"],
        &[
            &["B-Disease", "O", "B-Disease", "O", "B-Chemical"],
            &["B-Disease", "O", "B-Chemical"],
        ],
    );
    assert_eq!(out[0], ["B-Disease", "O", "B-Disease", "O", "B-Disease"]);
    assert_eq!(out[1], ["B-Disease", "O", "B-Chemical"]);
    let fill = run(
        &["TP or TP", "TP"],
        &[&["B-Disease", "O", "B-Chemical"], &["O"]],
    );
    assert_eq!(
        fill[1],
        ["B-Chemical"],
        "a tie fills with the type the label set lists first"
    );
}

#[test]
fn filling_never_splits_extends_or_copies_one_letter() {
    let inside = run(
        &["heart failure", "acute heart failure"],
        &[
            &["B-Disease", "I-Disease"],
            &["B-Disease", "I-Disease", "I-Disease"],
        ],
    );
    assert_eq!(
        inside[1],
        ["B-Disease", "I-Disease", "I-Disease"],
        "a string inside a longer entity stays part of it"
    );
    let before = run(
        &["heart", "heart disease"],
        &[&["B-Disease"], &["O", "I-Disease"]],
    );
    assert_eq!(
        before[1],
        ["O", "I-Disease"],
        "a fill before an `I-` would extend that entity"
    );
    let letter = run(&["T cells", "T"], &[&["B-Chemical", "O"], &["O"]]);
    assert_eq!(letter[1], ["O"]);
}

#[test]
fn a_short_form_takes_the_type_of_the_entity_it_abbreviates() {
    let out = run(
        &["overactive bladder ( OAB ) and ( n = 5 )", "OAB improved"],
        &[
            &[
                "B-Disease",
                "I-Disease",
                "O",
                "O",
                "O",
                "O",
                "O",
                "O",
                "O",
                "O",
                "O",
            ],
            &["O", "O"],
        ],
    );
    assert_eq!(out[0][3], "B-Disease");
    assert_eq!(
        out[1],
        ["B-Disease", "O"],
        "and the fill carries it through the text"
    );
    let retyped = run(
        &["subarachnoid hemorrhage ( SAH )"],
        &[&["B-Disease", "I-Disease", "O", "B-Chemical", "O"]],
    );
    assert_eq!(retyped[0][3], "B-Disease");
    let unrelated = run(
        &["cisplatin ( CP ) and cisplatin ( PT )"],
        &[&[
            "B-Chemical",
            "O",
            "O",
            "O",
            "O",
            "B-Chemical",
            "O",
            "O",
            "O",
        ]],
    );
    assert_eq!(
        unrelated[0],
        [
            "B-Chemical",
            "O",
            "B-Chemical",
            "O",
            "O",
            "B-Chemical",
            "O",
            "O",
            "O"
        ],
        "CP abbreviates cisplatin; PT does not (its P opens no word)"
    );
}

#[test]
fn a_defined_short_form_keeps_its_long_forms_type_throughout_the_text() {
    let out = run(
        &["subarachnoid hemorrhage ( SAH ) .", "SAH and SAH", "SAH"],
        &[
            &["B-Disease", "I-Disease", "O", "O", "O", "O"],
            &["B-Chemical", "O", "B-Chemical"],
            &["O"],
        ],
    );
    assert_eq!(out[0][3], "B-Disease");
    assert_eq!(
        out[1],
        ["B-Disease", "O", "B-Disease"],
        "the definition outvotes the model's two other readings"
    );
    assert_eq!(out[2], ["B-Disease"], "and fills with its type");
    let segment = run(
        &["diethylnitrosamine ( DEN : 10 mg )", "DEN alone"],
        &[&["B-Chemical", "O", "O", "O", "O", "O", "O"], &["O", "O"]],
    );
    assert_eq!(
        segment[0][2], "B-Chemical",
        "a short form may end at a colon"
    );
    assert_eq!(segment[1], ["B-Chemical", "O"]);
}

#[test]
fn a_short_form_of_a_phrase_takes_the_type_of_the_entity_it_is_named_after() {
    let induced = run(
        &["ribavirin - induced hemolytic anemia ( RIHA )"],
        &[&[
            "B-Chemical",
            "O",
            "O",
            "B-Disease",
            "I-Disease",
            "O",
            "B-Chemical",
            "O",
        ]],
    );
    assert_eq!(induced[0][6], "B-Disease", "named after its last entity");
    let head_first = run(
        &["duration of catatonia ( DOC )"],
        &[&["O", "O", "B-Disease", "O", "O", "O"]],
    );
    assert_eq!(
        head_first[0][4], "O",
        "\"duration of\" is what DOC names, not catatonia"
    );
}

#[test]
fn a_short_form_of_untagged_words_is_no_entity_in_the_text() {
    let out = run(
        &["serum parathyroid hormone ( PTH ) rose", "PTH and calcium"],
        &[
            &["O", "O", "O", "O", "B-Chemical", "O", "O"],
            &["B-Chemical", "O", "B-Chemical"],
        ],
    );
    assert_eq!(out[0][4], "O");
    assert_eq!(out[1], ["O", "O", "B-Chemical"]);
    let no_long_form = run(
        &["serum levels ( PTH )"],
        &[&["O", "O", "O", "B-Chemical", "O"]],
    );
    assert_eq!(
        no_long_form[0][3], "B-Chemical",
        "without a matching long form the model's tag stands"
    );
}

#[test]
fn longer_strings_are_filled_first() {
    let out = run(
        &["heart failure", "heart failure and failure"],
        &[&["B-Disease", "I-Disease"], &["O", "O", "O", "B-Chemical"]],
    );
    assert_eq!(out[1], ["B-Disease", "I-Disease", "O", "B-Chemical"]);
}
