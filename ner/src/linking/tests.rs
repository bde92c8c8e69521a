use super::*;

fn linker() -> Linker {
    let mut index = ConceptIndex::default();
    index.add_concept(
        "D014859",
        "Chemical",
        "Warfarin",
        &["Coumadin", "Warfarin Sodium"],
    );
    index.add_concept(
        "D009203",
        "Disease",
        "Myocardial Infarction",
        &["Infarction, Myocardial"],
    );
    index.add_concept(
        "D001943",
        "Disease",
        "Breast Neoplasms",
        &["Breast Cancer", "Cancer of Breast"],
    );
    index.add_concept(
        "D010051",
        "Disease",
        "Ovarian Neoplasms",
        &["Ovarian Cancer"],
    );
    index.add_concept("D009459", "Disease", "Neuroleptic Malignant Syndrome", &[]);
    index.add_concept(
        "D008171",
        "Disease",
        "Lung Diseases",
        &["Pulmonary Disease", "Diseases, Lung"],
    );
    index.add_concept("D007674", "Disease", "Kidney Diseases", &["Kidney Disease"]);
    index.finish();
    Linker::new(index)
}

fn id(linker: &Linker, label: &str, mention: &str) -> Option<String> {
    linker.link(label, mention).map(|c| c.id)
}

#[test]
fn two_names_of_one_drug_are_one_concept() {
    let l = linker();
    assert_eq!(id(&l, "Chemical", "Coumadin").as_deref(), Some("D014859"));
    assert_eq!(
        id(&l, "Chemical", "warfarin sodium").as_deref(),
        Some("D014859")
    );
    assert_eq!(l.link("Chemical", "warfarin").unwrap().name, "Warfarin");
    assert_eq!(id(&l, "Chemical", "aspirin"), None);
}

#[test]
fn composite_mentions_name_each_part() {
    let l = linker();
    let c = l.link("Disease", "breast and ovarian cancer").unwrap();
    assert_eq!(c.id, "D001943|D010051");
    assert_eq!(c.name, "Breast Neoplasms | Ovarian Neoplasms");
    assert_eq!(
        id(&l, "Disease", "breast, ovarian or lung cancer"),
        None,
        "every part must link"
    );
}

#[test]
fn a_defined_short_form_is_linked_as_its_long_form() {
    let l = linker();
    let text =
        "A case of neuroleptic malignant syndrome (NMS; 3 cases). NMS resolved. MI (myocardial infarction).";
    let mut entities: Vec<Entity> = ["neuroleptic malignant syndrome", "NMS", "MI"]
        .iter()
        .map(|m| {
            let start = text.find(m).unwrap();
            Entity {
                start,
                end: start + m.len(),
                label: "Disease".into(),
                ..Default::default()
            }
        })
        .collect();
    let second = text.rfind("NMS resolved").unwrap();
    entities.push(Entity {
        start: second,
        end: second + 3,
        label: "Disease".into(),
        ..Default::default()
    });
    l.link_document(text, &mut entities);
    let ids: Vec<Option<&str>> = entities
        .iter()
        .map(|e| e.concept.as_ref().map(|c| c.id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [Some("D009459"), Some("D009459"), None, Some("D009459")]
    );
}

#[test]
fn a_misspelling_links_only_when_similar_enough() {
    let mut l = linker();
    assert_eq!(id(&l, "Chemical", "warfarine").as_deref(), Some("D014859"));
    l.threshold = 0.99;
    assert_eq!(id(&l, "Chemical", "warfarine"), None);
}

#[test]
fn a_harm_to_an_organ_is_linked_as_the_organ_s_disease() {
    let l = linker();
    assert_eq!(
        id(&l, "Disease", "pulmonary toxicity").as_deref(),
        Some("D008171")
    );
    let renal = l.link("Disease", "renal damage").unwrap();
    assert_eq!(renal.id, "D007674", "renal: the kidney's disease");
    assert!(renal.score < 1.0, "less sure than a name: {}", renal.score);
    assert_eq!(
        id(&l, "Disease", "kidney dysfunctions").as_deref(),
        Some("D007674")
    );
    assert_eq!(
        id(&l, "Chemical", "pulmonary toxicity"),
        None,
        "diseases only"
    );
    assert_eq!(id(&l, "Disease", "toxicity"), None, "no organ named");
}
