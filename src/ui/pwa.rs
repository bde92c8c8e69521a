//! Offline support: registers the service worker (`public/sw.js`, which precaches the app and the
//! model), reports when the offline copy is complete, and, when a newer version has been installed
//! behind the running one, offers a reload.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ServiceWorker, ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState,
};

const SERVICE_WORKER_URL: &str = "./sw.js";

/// Whether the app can work without the network.
#[derive(Debug, Clone, PartialEq)]
pub enum Offline {
    /// The service worker is still caching the app and the model.
    Saving,
    Ready,
    /// No offline copy (no service worker here, or caching failed).
    Unavailable,
}

/// The page's service-worker container; `None` where there is none (not a secure context).
fn container() -> Option<ServiceWorkerContainer> {
    let navigator = web_sys::window()?.navigator();
    js_sys::Reflect::has(&navigator, &"serviceWorker".into())
        .unwrap_or(false)
        .then(|| navigator.service_worker())
}

/// Calls `on_state` with each state `worker` enters from now on.
fn watch(worker: &ServiceWorker, on_state: impl Fn(ServiceWorkerState) + 'static) {
    let watched = worker.clone();
    let handler = Closure::<dyn FnMut()>::new(move || on_state(watched.state()));
    worker.set_onstatechange(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
}

fn is_installed(state: ServiceWorkerState) -> bool {
    matches!(
        state,
        ServiceWorkerState::Installed
            | ServiceWorkerState::Activating
            | ServiceWorkerState::Activated
    )
}

/// Registers the service worker. `offline` follows the offline copy; `waiting` is set when an update
/// is installed and waits to take over.
pub fn register(offline: WriteSignal<Offline>, waiting: WriteSignal<bool>) {
    let Some(container) = container() else {
        return offline.set(Offline::Unavailable);
    };
    // Without a controller this is the first visit: the new worker takes over silently.
    let updating = container.controller().is_some();
    let on_takeover = Closure::<dyn FnMut()>::new(move || {
        if updating {
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        }
    });
    container.set_oncontrollerchange(Some(on_takeover.as_ref().unchecked_ref()));
    on_takeover.forget();
    let registered = container.register(SERVICE_WORKER_URL);
    wasm_bindgen_futures::spawn_local(async move {
        let registration: ServiceWorkerRegistration = match JsFuture::from(registered).await {
            Ok(registration) => registration.unchecked_into(),
            Err(_) => return offline.set(Offline::Unavailable),
        };
        // An active worker means a complete cache (perhaps of an older version).
        if registration.active().is_some() {
            offline.set(Offline::Ready);
        } else if let Some(worker) = registration.installing().or_else(|| registration.waiting()) {
            if is_installed(worker.state()) {
                offline.set(Offline::Ready);
            }
            watch(&worker, move |state| match state {
                ServiceWorkerState::Redundant => offline.set(Offline::Unavailable),
                state if is_installed(state) => offline.set(Offline::Ready),
                _ => {}
            });
        } else {
            offline.set(Offline::Unavailable);
        }
        if updating && registration.waiting().is_some() {
            waiting.set(true);
        }
        let watched = registration.clone();
        let on_update = Closure::<dyn FnMut()>::new(move || {
            if let (true, Some(installing)) = (updating, watched.installing()) {
                watch(&installing, move |state| {
                    if state == ServiceWorkerState::Installed {
                        waiting.set(true);
                    }
                });
            }
        });
        registration.set_onupdatefound(Some(on_update.as_ref().unchecked_ref()));
        on_update.forget();
    });
}

/// Tells the waiting service worker to take over; the page reloads when it has.
fn activate_update() {
    let Some(container) = container() else { return };
    wasm_bindgen_futures::spawn_local(async move {
        let Ok(registration) = JsFuture::from(container.get_registration()).await else {
            return;
        };
        let registration: ServiceWorkerRegistration = registration.unchecked_into();
        if let Some(waiting) = registration.waiting() {
            let _ = waiting.post_message(&"skip-waiting".into());
        }
    });
}

#[component]
pub fn UpdateBanner(waiting: ReadSignal<bool>) -> impl IntoView {
    move || {
        waiting.get().then(|| {
            view! {
                <p class="update" role="status">
                    "A new version of Medlight is ready. "
                    <button class="reload" on:click=move |_| activate_update()>"Reload"</button>
                </p>
            }
        })
    }
}
