//! Which worker reads which chunk of the newest request, and when finished chunks go to the page.
//!
//! Pure bookkeeping, so that it is tested natively; `ui::pool` owns the workers and feeds their
//! messages in here. A text is cut into chunks of sentences; every idle, ready worker takes the next
//! one. Results are handed over in text order, so the page sees the same `Chunk` and `Finished`
//! messages as from one worker. A newer request replaces the current one: results of the chunks that
//! workers are still reading for the old one are dropped when they arrive.

use std::ops::Range;

use medlight_ner::Entity;

use crate::protocol::{FromWorker, CHUNK_BYTES};

/// The chunk a worker is reading.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reading {
    /// The id the worker was sent the chunk under, unique across the pool.
    request: u32,
    /// The page's request it belongs to: a newer one may have replaced it since.
    job: u32,
    chunk: usize,
}

#[derive(Debug, Default)]
struct Slot {
    ready: bool,
    reading: Option<Reading>,
}

#[derive(Debug)]
struct Job {
    id: u32,
    text: String,
    chunks: Vec<Range<usize>>,
    next: usize,
    /// Each chunk's entities so far (offsets into `text`) and whether its worker has finished it.
    found: Vec<Vec<Entity>>,
    finished: Vec<bool>,
    committed: usize,
    tokens: usize,
    started_ms: f64,
}

/// A chunk to send: `text` to worker `slot` as request `request`.
#[derive(Debug, PartialEq)]
pub struct Assignment {
    pub slot: usize,
    pub request: u32,
    pub text: String,
}

#[derive(Debug, Default)]
pub struct Schedule {
    slots: Vec<Slot>,
    job: Option<Job>,
    next_request: u32,
}

impl Schedule {
    /// Forgets every worker and the current request (the workers are being restarted).
    pub fn clear(&mut self) {
        self.slots.clear();
        self.job = None;
    }

    /// A new worker, not ready yet; returns its slot.
    pub fn add_slot(&mut self) -> usize {
        self.slots.push(Slot::default());
        self.slots.len() - 1
    }

    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    pub fn mark_ready(&mut self, slot: usize) {
        if let Some(slot) = self.slots.get_mut(slot) {
            slot.ready = true;
        }
    }

    /// Drops the current request: no more of its chunks are sent, and late results are ignored.
    pub fn cancel(&mut self) {
        self.job = None;
    }

    /// Makes `text` the current request `id`, replacing any other; returns its number of chunks.
    /// An empty text has no chunk: it is finished at once, with nothing to send.
    pub fn begin(&mut self, id: u32, text: String, now_ms: f64) -> usize {
        let chunks: Vec<Range<usize>> = medlight_ner::sentences::chunks(&text, CHUNK_BYTES)
            .into_iter()
            .filter_map(|c| Some(c.first()?.start..c.last()?.end))
            .collect();
        let count = chunks.len();
        self.job = (count > 0).then(|| Job {
            id,
            text,
            chunks,
            next: 0,
            found: vec![Vec::new(); count],
            finished: vec![false; count],
            committed: 0,
            tokens: 0,
            started_ms: now_ms,
        });
        count
    }

    /// Gives every idle, ready worker the next chunk of the current request.
    pub fn assign(&mut self) -> Vec<Assignment> {
        let mut out = Vec::new();
        let Some(job) = self.job.as_mut() else {
            return out;
        };
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if job.next == job.chunks.len() {
                break;
            }
            if !slot.ready || slot.reading.is_some() {
                continue;
            }
            self.next_request += 1;
            slot.reading = Some(Reading {
                request: self.next_request,
                job: job.id,
                chunk: job.next,
            });
            out.push(Assignment {
                slot: index,
                request: self.next_request,
                text: job.text[job.chunks[job.next].clone()].to_string(),
            });
            job.next += 1;
        }
        out
    }

    /// The chunk of the current request that worker `slot` answers with `request`, if it is one.
    fn current_chunk(&self, slot: usize, request: u32) -> Option<usize> {
        let reading = self.slots.get(slot)?.reading?;
        let current = self.job.as_ref().is_some_and(|j| j.id == reading.job);
        (reading.request == request && current).then_some(reading.chunk)
    }

    /// Frees worker `slot`; returns the chunk of the current request it had read, if any.
    fn release(&mut self, slot: usize, request: u32) -> Option<usize> {
        let chunk = self.current_chunk(slot, request);
        if let Some(slot) = self.slots.get_mut(slot) {
            if slot.reading.is_some_and(|r| r.request == request) {
                slot.reading = None;
            }
        }
        chunk
    }

    /// Entities that worker `slot` found in its chunk (offsets into the chunk).
    pub fn entities(&mut self, slot: usize, request: u32, entities: Vec<Entity>) {
        let Some(chunk) = self.current_chunk(slot, request) else {
            return;
        };
        let job = self.job.as_mut().expect("current_chunk checked the job");
        let shift = job.chunks[chunk].start;
        job.found[chunk].extend(entities.into_iter().map(|mut e| {
            e.start += shift;
            e.end += shift;
            e
        }));
    }

    /// Worker `slot` has finished `request`. Returns what the page may now be shown: every finished
    /// chunk with no unfinished one before it, and `Finished` once the whole text is done.
    pub fn finished(
        &mut self,
        slot: usize,
        request: u32,
        tokens: usize,
        now_ms: f64,
    ) -> Vec<FromWorker> {
        let mut out = Vec::new();
        let Some(chunk) = self.release(slot, request) else {
            return out;
        };
        let job = self.job.as_mut().expect("release checked the job");
        job.tokens += tokens;
        job.finished[chunk] = true;
        while job.committed < job.chunks.len() && job.finished[job.committed] {
            out.push(FromWorker::Chunk {
                id: job.id,
                end: job.chunks[job.committed].end,
                entities: std::mem::take(&mut job.found[job.committed]),
            });
            job.committed += 1;
        }
        if job.committed == job.chunks.len() {
            out.push(FromWorker::Finished {
                id: job.id,
                ms: now_ms - job.started_ms,
                tokens: job.tokens,
            });
            self.job = None;
        }
        out
    }

    /// Worker `slot` could not read `request`; returns the page's request that has failed, if it is
    /// the current one (which is then dropped).
    pub fn failed(&mut self, slot: usize, request: u32) -> Option<u32> {
        self.release(slot, request)?;
        self.job.take().map(|job| job.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(start: usize, end: usize) -> Entity {
        Entity {
            start,
            end,
            label: "Chemical".into(),
            score: 0.9,
            ..Default::default()
        }
    }

    fn ready_schedule(workers: usize) -> Schedule {
        let mut schedule = Schedule::default();
        for _ in 0..workers {
            let slot = schedule.add_slot();
            schedule.mark_ready(slot);
        }
        schedule
    }

    fn kinds(messages: &[FromWorker]) -> Vec<(u32, usize)> {
        messages
            .iter()
            .map(|m| match m {
                FromWorker::Chunk { id, entities, .. } => (*id, entities.len()),
                FromWorker::Finished { id, .. } => (*id, usize::MAX),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    const SENTENCE: &str = "Cisplatin caused nephrotoxicity.";

    #[test]
    fn one_chunk_is_sent_once_and_handed_over_with_its_entities() {
        let mut schedule = ready_schedule(2);
        assert_eq!(schedule.begin(1, SENTENCE.into(), 0.0), 1);
        let sent = schedule.assign();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].text, SENTENCE);
        assert!(schedule.assign().is_empty(), "nothing is sent twice");
        schedule.entities(sent[0].slot, sent[0].request, vec![entity(0, 9)]);
        let out = schedule.finished(sent[0].slot, sent[0].request, 8, 5.0);
        assert_eq!(kinds(&out), [(1, 1), (1, usize::MAX)]);
    }

    /// The race that once showed a finished text with no highlights: a newer request (the same
    /// text, re-annotated when the concept index loaded) arrives between a worker's entities for
    /// the old one and its `Finished`. The old chunk's `Finished` must not finish the new chunk.
    #[test]
    fn a_replaced_requests_late_results_do_not_finish_the_new_one() {
        let mut schedule = ready_schedule(1);
        schedule.begin(1, SENTENCE.into(), 0.0);
        let old = schedule.assign().remove(0);
        schedule.entities(old.slot, old.request, vec![entity(0, 9)]);
        schedule.begin(2, SENTENCE.into(), 1.0);
        assert!(schedule.assign().is_empty(), "the only worker is busy");
        assert!(schedule.finished(old.slot, old.request, 8, 2.0).is_empty());
        let new = schedule.assign().remove(0);
        assert_ne!(new.request, old.request);
        schedule.entities(new.slot, new.request, vec![entity(0, 9)]);
        let out = schedule.finished(new.slot, new.request, 8, 3.0);
        assert_eq!(kinds(&out), [(2, 1), (2, usize::MAX)]);
    }

    #[test]
    fn chunks_are_handed_over_in_text_order_with_text_offsets() {
        let sentence = "Aspirin was given to the patient with a headache today. ";
        let text = sentence.repeat(2 * CHUNK_BYTES / sentence.len() + 1);
        let mut schedule = ready_schedule(2);
        let count = schedule.begin(7, text.clone(), 0.0);
        assert!(count >= 2, "{count} chunks");
        let sent = schedule.assign();
        assert_eq!(sent.len(), 2);
        // The second chunk finishes first: nothing is shown until the first has.
        schedule.entities(sent[1].slot, sent[1].request, vec![entity(0, 7)]);
        assert!(schedule
            .finished(sent[1].slot, sent[1].request, 1, 1.0)
            .is_empty());
        let out = schedule.finished(sent[0].slot, sent[0].request, 1, 2.0);
        assert_eq!(kinds(&out), [(7, 0), (7, 1)]);
        let FromWorker::Chunk { entities, .. } = &out[1] else {
            unreachable!()
        };
        let start = entities[0].start;
        assert!(start > 0 && &text[start..start + 7] == "Aspirin", "{start}");
    }

    #[test]
    fn a_failure_fails_only_the_current_request() {
        let mut schedule = ready_schedule(1);
        schedule.begin(1, SENTENCE.into(), 0.0);
        let old = schedule.assign().remove(0);
        schedule.begin(2, SENTENCE.into(), 1.0);
        assert_eq!(schedule.failed(old.slot, old.request), None);
        let new = schedule.assign().remove(0);
        assert_eq!(schedule.failed(new.slot, new.request), Some(2));
        assert!(schedule.assign().is_empty());
    }

    #[test]
    fn an_empty_text_has_no_chunk_and_workers_not_ready_get_nothing() {
        let mut schedule = Schedule::default();
        schedule.add_slot();
        assert_eq!(schedule.begin(1, String::new(), 0.0), 0);
        assert_eq!(schedule.begin(2, SENTENCE.into(), 0.0), 1);
        assert!(schedule.assign().is_empty());
        schedule.mark_ready(0);
        assert_eq!(schedule.assign().len(), 1);
    }
}
