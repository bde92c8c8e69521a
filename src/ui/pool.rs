//! Parallel annotation of long text: one model per worker, up to `navigator.hardwareConcurrency`.
//!
//! The first worker loads at start and answers short text alone. When a text has more than one chunk
//! of sentences, helper workers are started (each loads its own model). Which worker reads which
//! chunk, and what the page is shown when, is [`crate::schedule`]'s job; this module owns the workers.

use std::cell::RefCell;
use std::rc::Rc;

use super::worker_handle::ModelWorker;
use crate::protocol::{FromWorker, ToWorker};
use crate::schedule::Schedule;

/// Helpers stop here even on machines with more cores: each holds its own model (~150 MB).
const MAX_WORKERS: usize = 4;

#[derive(Clone)]
pub struct WorkerPool {
    workers: Rc<RefCell<Vec<ModelWorker>>>,
    schedule: Rc<RefCell<Schedule>>,
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
            workers: Rc::default(),
            schedule: Rc::default(),
            on_message: Rc::new(on_message),
            max_workers: cores.clamp(1, MAX_WORKERS),
        }
    }

    /// (Re)starts the first worker; helpers are started only when long text needs them.
    pub fn start(&self) {
        for worker in self.workers.borrow_mut().drain(..) {
            worker.terminate();
        }
        self.schedule.borrow_mut().clear();
        self.add_worker(true);
    }

    fn add_worker(&self, primary: bool) {
        let index = self.schedule.borrow_mut().add_slot();
        let pool = self.clone();
        let worker = ModelWorker::new(move |message| pool.on_worker(index, primary, message));
        self.workers.borrow_mut().push(worker.clone());
        worker.start();
    }

    fn mark_ready(&self, index: usize) {
        self.schedule.borrow_mut().mark_ready(index);
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
            FromWorker::Chunk { id, entities, .. } => {
                self.schedule.borrow_mut().entities(index, id, entities)
            }
            FromWorker::Finished { id, tokens, .. } => {
                let out = self
                    .schedule
                    .borrow_mut()
                    .finished(index, id, tokens, now());
                for message in out {
                    (self.on_message)(message);
                }
                self.dispatch();
            }
            FromWorker::AnnotateFailed { id, message } => {
                let failed = self.schedule.borrow_mut().failed(index, id);
                if let Some(id) = failed {
                    (self.on_message)(FromWorker::AnnotateFailed { id, message });
                }
                self.dispatch();
            }
            _ => {}
        }
    }

    /// Drops the current request: no more of its chunks are sent, and late results are ignored.
    pub fn cancel(&self) {
        self.schedule.borrow_mut().cancel();
    }

    /// Annotates `text` as request `id`, superseding any earlier request.
    pub fn annotate(&self, id: u32, text: String) {
        let count = self.schedule.borrow_mut().begin(id, text, now());
        if count == 0 {
            return (self.on_message)(FromWorker::Finished {
                id,
                ms: 0.0,
                tokens: 0,
            });
        }
        while self.schedule.borrow().slot_count() < count.min(self.max_workers) {
            self.add_worker(false);
        }
        self.dispatch();
    }

    /// Sends every idle, ready worker the next chunk of the current request.
    fn dispatch(&self) {
        let sends = self.schedule.borrow_mut().assign();
        let workers = self.workers.borrow().clone();
        for send in sends {
            workers[send.slot].send(&ToWorker::Annotate {
                id: send.request,
                text: send.text,
            });
        }
    }
}
