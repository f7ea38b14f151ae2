//! The strength-meter worker: runs the server's own password check (`password_strength`,
//! zxcvbn) in the browser. It answers each `[password, [account words...]]` message with the
//! JSON of a `PasswordStrength`, and says `"ready"` once it listens.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

fn judge(request: &str) -> Option<String> {
    let (password, words): (String, Vec<String>) = serde_json::from_str(request).ok()?;
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    serde_json::to_string(&app::domain::password_strength(&password, &words)).ok()
}

fn main() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let reply_to = scope.clone();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        if let Some(answer) = event.data().as_string().as_deref().and_then(judge) {
            let _ = reply_to.post_message(&JsValue::from_str(&answer));
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let _ = scope.post_message(&JsValue::from_str("ready"));
}
