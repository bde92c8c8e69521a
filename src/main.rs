//! The page: mounts the Leptos app.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(medlight::ui::App);
}
