//! API keys: the wallet's personal keys for its own scripts on the public API. Make one (a
//! name, what it may do, when it expires), copy it the one time it is shown, see when each was
//! last used, revoke one at once.

use leptos::prelude::*;
use leptos_meta::Title;
use solstice_types::api_key::{ApiKeyInfo, CreatedApiKey, EXPIRY_CHOICES_DAYS, MAX_NAME_CHARS, Scope};

use crate::{
    api::api_keys::{create_api_key, my_api_keys, revoke_api_key},
    components::{
        copy::CopyButton,
        errors::{Problem, loaded},
        format::format_time,
    },
};

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let created = RwSignal::new(None::<CreatedApiKey>);
    let changed = RwSignal::new(0_u32);
    let keys = Resource::new(move || changed.get(), |_| my_api_keys());
    view! {
        <Title text="API keys" />
        <div class="page-head">
            <h1 class="page-title">"API keys"</h1>
            <a href="/api/docs" class="btn btn-small" rel="external">"API documentation"</a>
        </div>
        <p class="muted">
            "A key lets your own scripts use your wallet over the "
            <a href="/api/docs" rel="external">"Solstice API"</a>
            ", within the scopes you give it. Send it as "
            <code>"Authorization: Bearer sol_…"</code>
            ". Keep it like a password: anyone who has it can do what its scopes allow."
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading your keys…"</p> }>
            {move || {
                keys.get()
                    .map(|result| {
                        loaded(result, "manage API keys", None, move |keys| {
                            view! {
                                <NewKeyShown created />
                                <CreateKey created changed />
                                <KeyList keys changed />
                            }
                        })
                    })
            }}
        </Transition>
    }
}

/// The key just made, shown this once with a button to copy it.
#[component]
fn NewKeyShown(created: RwSignal<Option<CreatedApiKey>>) -> impl IntoView {
    let shown = created;
    move || {
        shown.get().map(|created| {
            view! {
                <section class="card new-key" aria-labelledby="new-key-heading" data-testid="new-api-key">
                    <h2 id="new-key-heading" class="card-label">{format!("Your new key \u{201c}{}\u{201d}", created.key.name)}</h2>
                    <p class="address mono" data-testid="new-api-key-secret">{created.secret.clone()}</p>
                    <div class="actions">
                        <CopyButton text=created.secret.clone() label="Copy key" />
                        <button type="button" class="btn btn-small" on:click=move |_| shown.set(None)>
                            "Done"
                        </button>
                    </div>
                    <p class="hint">
                        "Copy it now: it is not stored and will not be shown again. If you lose it, revoke it and make another."
                    </p>
                </section>
            }
        })
    }
}

#[component]
fn CreateKey(created: RwSignal<Option<CreatedApiKey>>, changed: RwSignal<u32>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let chosen = RwSignal::new(vec![Scope::Read]);
    let expires = RwSignal::new(String::from("90"));
    let problem = RwSignal::new(None::<String>);
    let create = Action::new(|args: &[String; 3]| {
        let [name, scopes, expires] = args.clone();
        create_api_key(name, scopes, expires)
    });
    Effect::new(move |_| match create.value().get() {
        Some(Ok(key)) => {
            created.set(Some(key));
            name.set(String::new());
            chosen.set(vec![Scope::Read]);
            changed.update(|n| *n += 1);
        }
        Some(Err(error)) => problem.set(Some(error.message)),
        None => {}
    });
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        problem.set(None);
        created.set(None);
        let scopes = chosen.get().iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(",");
        create.dispatch([name.get(), scopes, expires.get()]);
    };
    view! {
        <section class="card" aria-labelledby="create-key-heading">
            <h2 id="create-key-heading" class="card-label">"Make a key"</h2>
            <form class="form" on:submit=on_submit data-testid="create-api-key">
                <label for="api-key-name">"Name"</label>
                <input
                    id="api-key-name"
                    type="text"
                    name="name"
                    maxlength=MAX_NAME_CHARS
                    placeholder="Where it is used, such as \u{201c}tax export\u{201d}"
                    autocomplete="off"
                    required
                    prop:value=move || name.get()
                    on:input=move |event| name.set(event_target_value(&event))
                />
                <fieldset class="validators">
                    <legend>"What it may do"</legend>
                    {Scope::ALL
                        .into_iter()
                        .map(|scope| {
                            view! {
                                <label class="validator">
                                    <input
                                        type="checkbox"
                                        name="scopes"
                                        value=scope.as_str()
                                        prop:checked=move || chosen.with(|chosen| chosen.contains(&scope))
                                        on:change=move |event| {
                                            let on = event_target_checked(&event);
                                            chosen.update(|chosen| {
                                                chosen.retain(|s| *s != scope);
                                                if on {
                                                    chosen.push(scope);
                                                }
                                            });
                                        }
                                    />
                                    <span>{scope.label()}</span>
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <label for="api-key-expires">"Expires"</label>
                <select id="api-key-expires" name="expires" on:change=move |event| expires.set(event_target_value(&event))>
                    {EXPIRY_CHOICES_DAYS
                        .into_iter()
                        .map(|days| {
                            let value = days.map_or_else(|| "never".to_owned(), |days| days.to_string());
                            let label = days.map_or_else(|| "Never".to_owned(), |days| format!("In {days} days"));
                            let selected = days == Some(90);
                            view! { <option value=value selected=selected>{label}</option> }
                        })
                        .collect_view()}
                </select>
                <Problem problem />
                <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Making the key…" } else { "Make key" }}
                </button>
            </form>
        </section>
    }
}

#[component]
fn KeyList(keys: Vec<ApiKeyInfo>, changed: RwSignal<u32>) -> impl IntoView {
    let problem = RwSignal::new(None::<String>);
    let revoke = Action::new(|id: &String| revoke_api_key(id.clone()));
    Effect::new(move |_| match revoke.value().get() {
        Some(Ok(())) => changed.update(|n| *n += 1),
        Some(Err(error)) => problem.set(Some(error.message)),
        None => {}
    });
    if keys.is_empty() {
        return view! { <p class="muted" data-testid="no-api-keys">"You have no API keys."</p> }.into_any();
    }
    view! {
        <section class="card" aria-labelledby="keys-heading">
            <h2 id="keys-heading" class="card-label">"Your keys"</h2>
            <Problem problem />
            <ul class="activity-list" data-testid="api-keys">
                {keys
                    .into_iter()
                    .map(|key| {
                        let id = key.id.clone();
                        let scopes = key.scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(", ");
                        let expires = key.expires_at_ms.map_or_else(|| "never".to_owned(), format_time);
                        let last_used = key.last_used_at_ms.map_or_else(|| "never".to_owned(), format_time);
                        view! {
                            <li class="activity api-key" data-testid="api-key" data-key-id=key.id.clone()>
                                <div class="activity-main">
                                    <strong>{key.name.clone()}</strong>
                                    <span class="mono small muted">{key.shown_prefix()}</span>
                                    <span class="small">{format!("Scopes: {scopes}")}</span>
                                    <span class="small muted">
                                        {format!("Made {}, expires {expires}", format_time(key.created_at_ms))}
                                    </span>
                                    <span class="small muted" data-testid="api-key-last-used">{format!("Last used: {last_used}")}</span>
                                </div>
                                <button
                                    type="button"
                                    class="btn btn-small"
                                    disabled=move || revoke.pending().get()
                                    on:click=move |_| {
                                        problem.set(None);
                                        revoke.dispatch(id.clone());
                                    }
                                >
                                    "Revoke"
                                </button>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
    .into_any()
}
