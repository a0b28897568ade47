//! The API Keys tab: list with search and status filter, create/edit modal, one-time reveal, rotate with a
//! grace period, enable/disable and revoke. Every action goes through the same service as the REST API.

use super::layout::use_tenant_id;
use super::modal::{ConfirmDialog, DialogActions, EditDialog, Modal, RotateDialog};
use super::style::*;
use super::time::{end_of_day_ms, now_ms, Ago};
use super::toast::{on_success, toggled, use_toasts};
use super::widgets::{CardTable, Column, EmptyState, TextField};
use crate::model::{ApiKey, AppError, CreateApiKey, IssuedKey, KeyStatus, RateTier, Scope, UpdateApiKey};
use crate::server_fns::api_keys::{edit_key, issue_key, list_keys, revoke_key, rotate_key};
use leptos::prelude::*;

const DAY_MS: i64 = 86_400_000;

fn status_badge(s: KeyStatus) -> (&'static str, &'static str) {
    match s {
        KeyStatus::Active => ("Active", badge("green")),
        KeyStatus::Expired => ("Expired", badge("amber")),
        KeyStatus::Revoked => ("Revoked", badge("red")),
        KeyStatus::Disabled => ("Disabled", badge("gray")),
    }
}

fn tier_label(t: RateTier) -> &'static str {
    match t {
        RateTier::Free => "Free — 60/min, 1,000/h",
        RateTier::Pro => "Pro — 300/min, 10,000/h",
        RateTier::Enterprise => "Enterprise — 1,000/min, 50,000/h",
        RateTier::Producer => "Producer (backends) — 6,000/min, 300,000/h",
        RateTier::Custom => "Custom",
    }
}

#[component]
pub fn ApiKeysPanel() -> impl IntoView {
    let tenant = use_tenant_id();
    let toasts = use_toasts();
    let search = RwSignal::new(String::new());
    let status = RwSignal::new(None::<KeyStatus>);
    let version = RwSignal::new(0u32);
    let keys = Resource::new(
        move || (tenant.get_value(), search.get(), status.get(), version.get()),
        |(t, s, st, _)| list_keys(t, (!s.trim().is_empty()).then_some(s), st),
    );
    let refresh = move || version.update(|v| *v += 1);

    let reveal_open = RwSignal::new(false);
    let revealed = RwSignal::new(None::<IssuedKey>);
    let rotate_open = RwSignal::new(false);
    let revoke_open = RwSignal::new(false);
    let target = RwSignal::new(None::<ApiKey>);
    let reveal = move |issued: IssuedKey| {
        revealed.set(Some(issued));
        reveal_open.set(true);
        refresh();
    };

    let save = Action::new(move |(id, input): &(Option<String>, CreateApiKey)| {
        let (id, input, t) = (id.clone(), input.clone(), tenant.get_value());
        async move {
            match id {
                None => issue_key(t, input).await.map(Some),
                Some(id) => {
                    let patch = UpdateApiKey {
                        name: Some(input.name),
                        description: Some(input.description),
                        scopes: Some(input.scopes),
                        allowed_ips: Some(input.allowed_ips),
                        tier: input.tier,
                        rate_limit_per_minute: input.rate_limit_per_minute,
                        rate_limit_per_hour: input.rate_limit_per_hour,
                        expires_at: input.expires_at.map(|e| (e > 0).then_some(e)),
                        is_active: None,
                    };
                    edit_key(t, id, patch).await.map(|_| None)
                }
            }
        }
    });
    let form = EditDialog::new(save, move |issued| match issued {
        Some(issued) => reveal(issued),
        None => {
            toasts.success("API key saved");
            refresh();
        }
    });

    let rotate = Action::new(move |(id, grace): &(String, u64)| rotate_key(tenant.get_value(), id.clone(), *grace));
    on_success(rotate, move |issued| {
        rotate_open.set(false);
        reveal(issued);
    });
    let revoke = Action::new(move |id: &String| revoke_key(tenant.get_value(), id.clone()));
    on_success(revoke, move |k| {
        revoke_open.set(false);
        toasts.success(format!("Revoked “{}”", k.name));
        refresh();
    });
    let toggle = Action::new(move |(id, active): &(String, bool)| {
        let patch = UpdateApiKey { is_active: Some(*active), ..Default::default() };
        edit_key(tenant.get_value(), id.clone(), patch)
    });
    on_success(toggle, move |k| {
        toasts.success(toggled(&k.name, k.is_active));
        refresh();
    });

    let ask = move |k: ApiKey, dialog: RwSignal<bool>| {
        target.set(Some(k));
        dialog.set(true);
    };
    let actions = RowActions {
        edit: Callback::new(move |k| form.show(Some(k))),
        toggle: Callback::new(move |k: ApiKey| {
            toggle.dispatch((k.id.clone(), !k.is_active));
        }),
        rotate: Callback::new(move |k| ask(k, rotate_open)),
        revoke: Callback::new(move |k| ask(k, revoke_open)),
    };

    view! {
        <div class="flex flex-col gap-3 sm:flex-row sm:items-end">
            <div class="flex-1">
                <label for="key-search" class=LABEL>"Search"</label>
                <input id="key-search" type="search" placeholder="Name, prefix or description" class=INPUT_CLASS
                    prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
            </div>
            <div>
                <label for="key-status" class=LABEL>"Status"</label>
                <select id="key-status" class=INPUT_CLASS on:change=move |ev| status.set(KeyStatus::parse(&event_target_value(&ev)))>
                    <option value="">"All statuses"</option>
                    {KeyStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{status_badge(s).0}</option> }).collect_view()}
                </select>
            </div>
            {expect_context::<crate::model::ShellContext>().can_write().then(|| view! {
                <button type="button" class=PRIMARY_BUTTON on:click=move |_| form.show(None)>"New API key"</button>
            })}
        </div>
        <Transition fallback=|| view! { <p class="mt-6 text-sm">"Loading keys…"</p> }>
            {move || keys.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="mt-6 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! {
                    <EmptyState title="No API keys here"
                        action=("Create an API key", Callback::new(move |_| form.show(None)))>
                        "Producers publish events and tenants call the API with keys issued here."
                    </EmptyState>
                }.into_any(),
                Ok(list) => view! { <KeyTable keys=list actions=actions/> }.into_any(),
            })}
        </Transition>
        <super::usage::UsageSection/>

        <Modal open=form.open id="key-form" wide=true title=Signal::derive(move || if form.editing.get().is_some() { "Edit API key".to_string() } else { "New API key".to_string() })>
            {move || {
                let initial = form.editing.get();
                let id = initial.as_ref().map(|k| k.id.clone());
                view! {
                    <KeyForm
                        initial=initial
                        pending=save.pending().into()
                        error=form.error()
                        on_submit=Callback::new(move |input: CreateApiKey| { save.dispatch((id.clone(), input)); })
                        on_cancel=Callback::new(move |_| form.open.set(false))
                    />
                }
            }}
        </Modal>

        <RevealModal open=reveal_open revealed=revealed/>

        <RotateDialog open=rotate_open id="rotate-dialog" title="Rotate API key" grace_id="rotate-grace" label="Rotate key"
            pending=rotate.pending()
            on_rotate=move |grace| if let Some(k) = target.get_untracked() { rotate.dispatch((k.id, grace)); }>
            {move || target.get().map(|k| view! {
                <p class="text-sm">"A new secret is issued for " <strong>{k.name}</strong> ". The current secret keeps working for:"</p>
            })}
        </RotateDialog>

        <ConfirmDialog open=revoke_open id="revoke-dialog" title="Revoke API key" label="Revoke key"
            pending=revoke.pending()
            on_confirm=move |_| if let Some(k) = target.get_untracked() { revoke.dispatch(k.id); }>
            {move || target.get().map(|k| view! {
                <p class="text-sm">"Revoke " <strong>{k.name}</strong> " (" <code>{k.prefix}</code> ")? Every request with it is refused immediately. This cannot be undone."</p>
            })}
        </ConfirmDialog>
    }
}

#[derive(Clone, Copy)]
struct RowActions {
    edit: Callback<ApiKey>,
    toggle: Callback<ApiKey>,
    rotate: Callback<ApiKey>,
    revoke: Callback<ApiKey>,
}

#[component]
fn KeyTable(keys: Vec<ApiKey>, actions: RowActions) -> impl IntoView {
    use Column::*;
    const COLUMNS: &[Column] = &[
        Left("Name"),
        Left("Key"),
        Left("Scopes"),
        Left("Status"),
        Left("Last used"),
        Right("Uses"),
        Left("Expires"),
        Unseen("Actions"),
    ];
    let now = now_ms();
    view! {
        <CardTable columns=COLUMNS>
            {keys.into_iter().map(|k| key_row(k, now, actions)).collect_view()}
        </CardTable>
    }
}

fn key_row(k: ApiKey, now: i64, actions: RowActions) -> impl IntoView {
    let status = k.status_at(now);
    let (label, class) = status_badge(status);
    let name = k.name.clone();
    let when = |t: Option<i64>, none: &'static str| match t {
        Some(t) => view! { <Ago ms=t/> }.into_any(),
        None => view! { <span class="text-slate-500 dark:text-slate-400">{none}</span> }.into_any(),
    };
    let (k1, k2, k3, k4) = (k.clone(), k.clone(), k.clone(), k.clone());
    let can_write = expect_context::<crate::model::ShellContext>().can_write();
    view! {
        <tr data-testid="key-row" data-key-id=k.id.clone()>
            <td class="px-4 py-3 align-top">
                <div class="font-medium">{k.name.clone()}</div>
                <div class="max-w-xs truncate text-xs text-slate-600 dark:text-slate-400">{k.description.clone()}</div>
            </td>
            <td class="px-4 py-3 align-top"><code class="font-mono text-xs">{format!("{}…", k.prefix)}</code></td>
            <td class="px-4 py-3 align-top">
                <div class="flex max-w-xs flex-wrap gap-1">
                    {k.scopes.iter().map(|s| view! { <span class=CHIP>{s.as_str()}</span> }).collect_view()}
                </div>
            </td>
            <td class="px-4 py-3 align-top"><span class=class data-testid="key-status">{label}</span></td>
            <td class="px-4 py-3 align-top whitespace-nowrap">{when(k.last_used_at, "never")}</td>
            <td class="px-4 py-3 align-top text-right tabular-nums">{k.usage_count}</td>
            <td class="px-4 py-3 align-top whitespace-nowrap">{when(k.expires_at, "never")}</td>
            <td class="px-4 py-3 align-top">
                <Show when=move || status != KeyStatus::Revoked && can_write>
                    <div class="flex justify-end gap-1 whitespace-nowrap">
                        <button type="button" class=LINK_BUTTON aria-label=format!("Edit {name}") on:click={let k = k1.clone(); move |_| actions.edit.run(k.clone())}>"Edit"</button>
                        <button type="button" class=LINK_BUTTON aria-label=format!("{} {name}", if k.is_active { "Disable" } else { "Enable" }) on:click={let k = k2.clone(); move |_| actions.toggle.run(k.clone())}>{if k.is_active { "Disable" } else { "Enable" }}</button>
                        <button type="button" class=LINK_BUTTON aria-label=format!("Rotate {name}") on:click={let k = k3.clone(); move |_| actions.rotate.run(k.clone())}>"Rotate"</button>
                        <button type="button" class="rounded px-2 py-1 text-sm font-medium text-rose-700 hover:bg-rose-50 dark:text-rose-400 dark:hover:bg-rose-500/10" aria-label=format!("Revoke {name}") on:click={let k = k4.clone(); move |_| actions.revoke.run(k.clone())}>"Revoke"</button>
                    </div>
                </Show>
            </td>
        </tr>
    }
}

/// Shows a new secret once. Closing requires confirming it was copied; the secret is then dropped.
#[component]
fn RevealModal(open: RwSignal<bool>, revealed: RwSignal<Option<IssuedKey>>) -> impl IntoView {
    let confirmed = RwSignal::new(false);
    let copied = RwSignal::new(false);
    Effect::new(move |_| {
        if open.get() {
            confirmed.set(false);
            copied.set(false);
        } else {
            // Forget the plaintext as soon as the dialog closes.
            revealed.set(None);
        }
    });
    let toasts = super::toast::use_toasts();
    let copy = move |_| {
        if let Some(k) = revealed.get_untracked() {
            super::copied(k.secret, move |ok| {
                copied.set(ok);
                if !ok {
                    toasts.error("Could not copy: select the key and copy it by hand");
                }
            });
        }
    };
    view! {
        <Modal open=open id="reveal-dialog" title="Copy your API key" locked=Signal::derive(move || !confirmed.get())>
            {move || revealed.get().map(|k| view! {
                <p class="rounded-md bg-amber-50 p-3 text-sm text-amber-900 dark:bg-amber-500/10 dark:text-amber-200" role="note">
                    "This is the only time the full key of " <strong>{k.key.name.clone()}</strong> " is shown. Store it somewhere safe now; it cannot be shown again."
                </p>
                <p class="mt-3 text-sm text-slate-700 dark:text-slate-300" data-testid="revealed-limits">
                    "It allows " {RateTier::describe_limits(k.key.rate_limit_per_minute, k.key.rate_limit_per_hour)}
                    " (" {tier_label(k.key.rate_tier())} ")."
                </p>
                <label for="revealed-key" class=format!("{LABEL} mt-4")>"API key"</label>
                <div class="flex gap-2">
                    <input id="revealed-key" readonly=true class=format!("{INPUT_CLASS} font-mono") value=k.secret.clone() on:focus=move |ev| {
                        #[cfg(feature = "hydrate")]
                        {
                            use leptos::wasm_bindgen::JsCast;
                            if let Some(input) = ev.target().and_then(|t| t.dyn_into::<leptos::web_sys::HtmlInputElement>().ok()) {
                                input.select();
                            }
                        }
                        #[cfg(not(feature = "hydrate"))]
                        let _ = ev;
                    }/>
                    <button type="button" class=SECONDARY_BUTTON on:click=copy>{move || if copied.get() { "Copied!" } else { "Copy" }}</button>
                </div>
                <label class="mt-4 flex items-center gap-2 text-sm">
                    <input type="checkbox" id="reveal-confirm" prop:checked=move || confirmed.get() on:change=move |ev| confirmed.set(event_target_checked(&ev))/>
                    "I have copied this key and stored it safely"
                </label>
                <div class="mt-6 flex justify-end">
                    <button type="button" class=PRIMARY_BUTTON disabled=move || !confirmed.get() on:click=move |_| open.set(false)>"Done"</button>
                </div>
            })}
        </Modal>
    }
}

/// Create and edit form. Field errors from the server appear next to their fields; input is kept on error.
#[component]
fn KeyForm(
    initial: Option<ApiKey>,
    pending: Signal<bool>,
    error: Signal<Option<AppError>>,
    on_submit: Callback<CreateApiKey>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let editing = initial.is_some();
    let init = initial.clone().unwrap_or_else(|| ApiKey {
        id: String::new(),
        tenant_id: None,
        name: String::new(),
        description: String::new(),
        prefix: String::new(),
        scopes: Scope::read_only(),
        allowed_ips: Vec::new(),
        rate_limit_per_minute: 60,
        rate_limit_per_hour: 1_000,
        expires_at: None,
        is_active: true,
        revoked_at: None,
        previous_secret_expires_at: None,
        created_by: None,
        created_at: 0,
        updated_at: 0,
        last_used_at: None,
        usage_count: 0,
    });
    let name = RwSignal::new(init.name.clone());
    let description = RwSignal::new(init.description.clone());
    let scopes = RwSignal::new(init.scopes.clone());
    let tier = RwSignal::new(init.rate_tier());
    let per_min = RwSignal::new(init.rate_limit_per_minute.to_string());
    let per_hour = RwSignal::new(init.rate_limit_per_hour.to_string());
    // A new key follows the default for what it may do (producer keys, with events:write, get the producer tier)
    // until a tier is picked by hand; the keys made here always belong to the tenant.
    let tier_picked = RwSignal::new(editing);
    Effect::new(move |_| {
        let scopes = scopes.get();
        if !tier_picked.get_untracked() {
            tier.set(RateTier::default_for(Some("tenant"), &scopes));
        }
    });
    let limits_text = move || match tier.get().limits() {
        Some((m, h)) => format!("This key will allow {}.", RateTier::describe_limits(m, h)),
        None => match (per_min.get().trim().parse::<u32>(), per_hour.get().trim().parse::<u32>()) {
            (Ok(m), Ok(h)) => format!("This key will allow {}.", RateTier::describe_limits(m, h)),
            _ => "Give both limits as whole numbers.".to_string(),
        },
    };
    let expiry = RwSignal::new(if editing { "keep".to_string() } else { "never".to_string() });
    let expiry_date = RwSignal::new(String::new());
    let ips = RwSignal::new(init.allowed_ips.join("\n"));
    let field = move |f: &'static str| move || error.get().and_then(|e| e.field_message(f).map(str::to_string));

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let now = now_ms();
        let expires_at = match expiry.get_untracked().as_str() {
            "keep" => None,
            "never" => Some(0), // 0 = remove the expiry (edit) / none (create)
            "30" => Some(now + 30 * DAY_MS),
            "90" => Some(now + 90 * DAY_MS),
            // Unparseable: let the server say "must be in the future".
            _ => end_of_day_ms(&expiry_date.get_untracked()).or(Some(1)),
        };
        let t = tier.get_untracked();
        let custom = t == RateTier::Custom;
        on_submit.run(CreateApiKey {
            name: name.get_untracked(),
            description: description.get_untracked(),
            tenant_id: None,
            scopes: scopes.get_untracked(),
            allowed_ips: ips
                .get_untracked()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            tier: Some(t),
            rate_limit_per_minute: custom.then(|| per_min.get_untracked().trim().parse().unwrap_or(0)),
            rate_limit_per_hour: custom.then(|| per_hour.get_untracked().trim().parse().unwrap_or(0)),
            expires_at: if editing { expires_at } else { expires_at.filter(|e| *e != 0) },
        });
    };

    let groups = ["events", "webhooks", "deliveries", "keys"];
    view! {
        <form on:submit=submit class="space-y-5" novalidate=true>
            <div class="grid gap-4 sm:grid-cols-2">
                <TextField id="key-name" label="Name" value=name error=Signal::derive(field("name")) autofocus=true/>
                <div>
                    <label for="key-description" class=LABEL>"Description"</label>
                    <input id="key-description" class=INPUT_CLASS prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))/>
                    <p class=FIELD_ERROR>{field("description")}</p>
                </div>
            </div>
            <fieldset>
                <legend class=LABEL>"Scopes"</legend>
                <div class="mb-2 flex gap-2">
                    <button type="button" class=SECONDARY_BUTTON on:click=move |_| scopes.set(Scope::read_only())>"Read-only"</button>
                    <button type="button" class=SECONDARY_BUTTON on:click=move |_| scopes.set(Scope::ALL.to_vec())>"Full access"</button>
                    <button type="button" class=SECONDARY_BUTTON on:click=move |_| scopes.set(Vec::new())>"Clear"</button>
                </div>
                <div class="grid gap-2 sm:grid-cols-4">
                    {groups.into_iter().map(|g| view! {
                        <div class="rounded-md p-2 ring-1 ring-slate-200 dark:ring-slate-700">
                            <div class="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">{g}</div>
                            {Scope::ALL.into_iter().filter(|s| s.group() == g).map(|s| view! {
                                <label class="flex items-center gap-2 text-sm">
                                    <input type="checkbox" prop:checked=move || scopes.read().contains(&s)
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            scopes.update(|list| { list.retain(|x| *x != s); if on { list.push(s); list.sort(); } });
                                        }/>
                                    {s.as_str()}
                                </label>
                            }).collect_view()}
                        </div>
                    }).collect_view()}
                </div>
                <p class=FIELD_ERROR>{field("scopes")}</p>
            </fieldset>
            <div class="grid gap-4 sm:grid-cols-2">
                <div>
                    <label for="key-expiry" class=LABEL>"Expires"</label>
                    <select id="key-expiry" class=INPUT_CLASS on:change=move |ev| expiry.set(event_target_value(&ev))>
                        {editing.then(|| view! { <option value="keep" selected=true>"Keep current"</option> })}
                        <option value="never" selected=!editing>"Never"</option>
                        <option value="30">"In 30 days"</option>
                        <option value="90">"In 90 days"</option>
                        <option value="date">"On a date…"</option>
                    </select>
                    <Show when=move || expiry.get() == "date">
                        <input type="date" aria-label="Expiry date" class=format!("{INPUT_CLASS} mt-2") prop:value=move || expiry_date.get() on:input=move |ev| expiry_date.set(event_target_value(&ev))/>
                    </Show>
                    <p class=FIELD_ERROR>{field("expires_at")}</p>
                </div>
                <div>
                    <label for="key-tier" class=LABEL>"Rate limit"</label>
                    <select id="key-tier" class=INPUT_CLASS aria-describedby="key-tier-limits" on:change=move |ev| {
                        tier_picked.set(true);
                        tier.set(RateTier::parse(&event_target_value(&ev)).unwrap_or(RateTier::Free));
                    }>
                        {RateTier::ALL.into_iter().map(|t| view! { <option value=t.as_str() selected=move || tier.get() == t>{tier_label(t)}</option> }).collect_view()}
                    </select>
                    <Show when=move || tier.get() == RateTier::Custom>
                        <div class="mt-2 grid grid-cols-2 gap-2">
                            <input type="number" min="1" aria-label="Requests per minute" class=INPUT_CLASS prop:value=move || per_min.get() on:input=move |ev| per_min.set(event_target_value(&ev))/>
                            <input type="number" min="1" aria-label="Requests per hour" class=INPUT_CLASS prop:value=move || per_hour.get() on:input=move |ev| per_hour.set(event_target_value(&ev))/>
                        </div>
                    </Show>
                    <p id="key-tier-limits" class="mt-1 text-xs text-slate-600 dark:text-slate-400" data-testid="key-tier-limits">
                        {limits_text}
                        {(!editing).then_some(" Keys that publish events (events:write) get the Producer tier unless you pick another.")}
                    </p>
                    <p class=FIELD_ERROR>{field("rate_limit_per_minute")}</p>
                    <p class=FIELD_ERROR>{field("rate_limit_per_hour")}</p>
                </div>
            </div>
            <div>
                <label for="key-ips" class=LABEL>"Allowed IPs " <span class="font-normal text-slate-500 dark:text-slate-400">"(one IP or CIDR per line; empty allows all)"</span></label>
                <textarea id="key-ips" rows="3" class=format!("{INPUT_CLASS} font-mono") placeholder="203.0.113.0/24\n2001:db8::/32"
                    prop:value=move || ips.get() on:input=move |ev| ips.set(event_target_value(&ev))
                    aria-describedby="key-ips-error"></textarea>
                <p id="key-ips-error" class=FIELD_ERROR>{field("allowed_ips")}</p>
            </div>
            <p role="alert" class="text-sm text-rose-700 dark:text-rose-400">{move || error.get().filter(|e| e.fields.is_empty()).map(|e| e.message)}</p>
            <DialogActions on_dismiss=on_cancel label=if editing { "Save changes" } else { "Create key" } pending_label="Saving…" pending=pending/>
        </form>
    }
}
