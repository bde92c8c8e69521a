//! Parallel annotation of long text: one model per worker, up to `navigator.hardwareConcurrency`.
//!
//! The first worker loads at start and answers short text alone. When a text has more than one chunk
//! of sentences, helper workers are started (each loads its own model) and every idle worker takes the
//! next chunk. Results are handed to the page in text order, so the page sees the same `Chunk` and
//! `Finished` messages as from one worker. A newer request makes older chunks stale: their results
//! are dropped and no more of them are sent out.

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

use medlight_ner::Entity;

use super::model::ModelWorker;
use crate::protocol::{FromWorker, ToWorker, CHUNK_BYTES};

/// Helpers stop here even on machines with more cores: each holds its own model (~150 MB).
const MAX_WORKERS: usize = 4;

struct Job {
    id: u32,
    chunks: Vec<Range<usize>>,
    text: String,
    next: usize,
    /// Each chunk's entities so far (offsets into `text`) and whether its worker has finished it.
    found: Vec<Vec<Entity>>,
    finished: Vec<bool>,
    committed: usize,
    tokens: usize,
    started: f64,
}

struct Slot {
    worker: ModelWorker,
    ready: bool,
    /// (request id, chunk index) of the chunk it is reading.
    busy: Option<(u32, usize)>,
}

#[derive(Default)]
struct State {
    slots: Vec<Slot>,
    job: Option<Job>,
    /// Request ids sent to workers; each worker gets ids unique across the pool.
    next_request: u32,
}

#[derive(Clone)]
pub struct WorkerPool {
    state: Rc<RefCell<State>>,
    on_message: Rc<dyn Fn(FromWorker)>,
    max_workers: usize,
}

fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

impl WorkerPool {
    pub fn new(on_message: impl Fn(FromWorker) + 'static) -> Self {
        let cores =
            web_sys::window().map_or(1.0, |w| w.navigator().hardware_concurrency()) as usize;
        Self {
            state: Rc::new(RefCell::new(State::default())),
            on_message: Rc::new(on_message),
            max_workers: cores.clamp(1, MAX_WORKERS),
        }
    }

    /// (Re)starts the first worker; helpers are started only when long text needs them.
    pub fn start(&self) {
        let mut state = self.state.borrow_mut();
        for slot in state.slots.drain(..) {
            slot.worker.terminate();
        }
        state.job = None;
        drop(state);
        self.add_worker(true);
    }

    fn add_worker(&self, primary: bool) {
        let index = self.state.borrow().slots.len();
        let pool = self.clone();
        let worker = ModelWorker::new(move |message| pool.on_worker(index, primary, message));
        self.state.borrow_mut().slots.push(Slot {
            worker: worker.clone(),
            ready: false,
            busy: None,
        });
        worker.start();
    }

    fn mark_ready(&self, index: usize) {
        if let Some(slot) = self.state.borrow_mut().slots.get_mut(index) {
            slot.ready = true;
        }
        self.dispatch();
    }

    fn on_worker(&self, index: usize, primary: bool, message: FromWorker) {
        match message {
            // The primary worker takes text once its model is ready; a helper only once its concept
            // index is (or failed) too, so that a long text's chunks all carry concepts alike.
            FromWorker::Ready { .. } if primary => {
                self.mark_ready(index);
                (self.on_message)(message);
            }
            FromWorker::Concepts { .. } | FromWorker::ConceptsFailed { .. } if !primary => {
                self.mark_ready(index)
            }
            FromWorker::Concepts { .. } | FromWorker::ConceptsFailed { .. } => {
                (self.on_message)(message)
            }
            // A helper that cannot load only means less parallelism: the others carry on.
            FromWorker::Progress { .. } | FromWorker::Failed { .. } if primary => {
                (self.on_message)(message)
            }
            FromWorker::Chunk { id, entities, .. } => self.chunk_entities(index, id, entities),
            FromWorker::Finished { id, tokens, .. } => self.chunk_finished(index, id, tokens),
            FromWorker::AnnotateFailed { id, message } if self.release(index, id).is_some() => {
                let job = self
                    .state
                    .borrow_mut()
                    .job
                    .take()
                    .expect("release checked the job");
                (self.on_message)(FromWorker::AnnotateFailed {
                    id: job.id,
                    message,
                });
            }
            _ => {}
        }
    }

    /// Drops the current request: no more of its chunks are sent, and late results are ignored.
    pub fn cancel(&self) {
        self.state.borrow_mut().job = None;
    }

    /// Annotates `text` as request `id`, superseding any earlier request.
    pub fn annotate(&self, id: u32, text: String) {
        let chunks: Vec<Range<usize>> = medlight_ner::sentences::chunks(&text, CHUNK_BYTES)
            .into_iter()
            .filter_map(|c| Some(c.first()?.start..c.last()?.end))
            .collect();
        let wanted = chunks.len().min(self.max_workers);
        let count = chunks.len();
        self.state.borrow_mut().job = Some(Job {
            id,
            chunks,
            text,
            next: 0,
            found: vec![Vec::new(); count],
            finished: vec![false; count],
            committed: 0,
            tokens: 0,
            started: now(),
        });
        while self.state.borrow().slots.len() < wanted {
            self.add_worker(false);
        }
        if count == 0 {
            (self.on_message)(FromWorker::Finished {
                id,
                ms: 0.0,
                tokens: 0,
            });
            self.state.borrow_mut().job = None;
            return;
        }
        self.dispatch();
    }

    /// Gives every idle, ready worker the next chunk of the current job.
    fn dispatch(&self) {
        let mut sends = Vec::new();
        {
            let mut state = self.state.borrow_mut();
            let State {
                slots,
                job,
                next_request,
            } = &mut *state;
            let Some(job) = job.as_mut() else { return };
            for slot in slots.iter_mut().filter(|s| s.ready && s.busy.is_none()) {
                if job.next == job.chunks.len() {
                    break;
                }
                *next_request += 1;
                let range = job.chunks[job.next].clone();
                slot.busy = Some((*next_request, job.next));
                sends.push((
                    slot.worker.clone(),
                    *next_request,
                    job.text[range].to_string(),
                ));
                job.next += 1;
            }
        }
        for (worker, id, text) in sends {
            worker.send(&ToWorker::Annotate { id, text });
        }
    }

    /// The chunk worker `index` was reading when it sent request `request`'s results, if that
    /// chunk belongs to the current job.
    fn current_chunk(&self, index: usize, request: u32) -> Option<usize> {
        let state = self.state.borrow();
        let (busy_request, chunk) = state.slots.get(index)?.busy?;
        (busy_request == request && state.job.is_some()).then_some(chunk)
    }

    fn chunk_entities(&self, index: usize, request: u32, entities: Vec<Entity>) {
        let Some(chunk) = self.current_chunk(index, request) else {
            return;
        };
        let mut state = self.state.borrow_mut();
        let job = state.job.as_mut().expect("current_chunk checked the job");
        let shift = job.chunks[chunk].start;
        job.found[chunk].extend(entities.into_iter().map(|mut e| {
            e.start += shift;
            e.end += shift;
            e
        }));
    }

    /// Frees worker `index`; returns the chunk of the current job that `request` was reading, if any.
    fn release(&self, index: usize, request: u32) -> Option<usize> {
        let chunk = self.current_chunk(index, request);
        if let Some(slot) = self.state.borrow_mut().slots.get_mut(index) {
            if slot.busy.is_some_and(|(r, _)| r == request) {
                slot.busy = None;
            }
        }
        chunk
    }

    fn chunk_finished(&self, index: usize, request: u32, tokens: usize) {
        if let Some(chunk) = self.release(index, request) {
            let mut out = Vec::new();
            {
                let mut state = self.state.borrow_mut();
                let job = state.job.as_mut().expect("current_chunk checked the job");
                job.tokens += tokens;
                job.finished[chunk] = true;
                // Hand over every finished chunk that has no unfinished chunk before it.
                while job.committed < job.chunks.len() && job.finished[job.committed] {
                    let entities = std::mem::take(&mut job.found[job.committed]);
                    out.push(FromWorker::Chunk {
                        id: job.id,
                        end: job.chunks[job.committed].end,
                        entities,
                    });
                    job.committed += 1;
                }
                if job.committed == job.chunks.len() {
                    out.push(FromWorker::Finished {
                        id: job.id,
                        ms: now() - job.started,
                        tokens: job.tokens,
                    });
                    state.job = None;
                }
            }
            for message in out {
                (self.on_message)(message);
            }
        }
        self.dispatch();
    }
}
