//! The Event types tab: the catalog grouped by category, each entry with its description, example payload and
//! schema (highlighted), then the types this tenant published without registering them (when it accepts
//! them: the switch at the top). Admins add, edit, archive and register entries through `save_event_type`,
//! which validates them like the REST API does; tenant users only read.

use super::json::{parse_json, Body};
use super::modal::{DialogActions, EditDialog, Modal};
use super::style::*;
use super::time::At;
use super::toast::{on_success, use_toasts};
use crate::model::{AppError, EventType, EventTypeSettings, Role, ShellContext};
use crate::server_fns::event_types::{event_catalog, get_event_type_settings, set_event_type_settings};
use crate::server_fns::tools::save_event_type;
use leptos::prelude::*;

/// The event-type catalog as loaded for a page. One per page, handed to the components that offer types: each
/// resource is serialized into the page, and the catalog with its schemas is the largest thing there.
pub type Catalog = Resource<Result<Vec<EventType>, AppError>>;

/// The heading unregistered types are listed under (they have no category until registered).
const UNREGISTERED: &str = "Unregistered";

/// Entries by category, keeping the server's order (category, then name; unregistered types last).
fn by_category(list: Vec<EventType>) -> Vec<(String, Vec<EventType>)> {
    let mut groups: Vec<(String, Vec<EventType>)> = Vec::new();
    for t in list {
        let category = if t.unregistered { UNREGISTERED.to_string() } else { t.category.clone() };
        match groups.iter_mut().find(|(c, _)| *c == category) {
            Some((_, v)) => v.push(t),
            None => groups.push((category, vec![t])),
        }
    }
    groups
}

/// What an admin can do with an entry; tenant users get none, so their cards have no controls.
#[derive(Clone, Copy)]
struct CardActions {
    edit: Callback<EventType>,
    toggle_archived: Callback<EventType>,
    busy: Signal<bool>,
}

#[component]
pub fn EventTypesPanel() -> impl IntoView {
    let shell = expect_context::<ShellContext>();
    let admin = shell.user.role == Role::Admin;
    let tenant_id = shell.tenant.id.clone();
    let toasts = use_toasts();
    let version = RwSignal::new(0u32);
    let refresh = move || version.update(|v| *v += 1);
    let types = {
        let tenant_id = tenant_id.clone();
        Resource::new(move || version.get(), move |_| event_catalog(tenant_id.clone()))
    };
    let catalog = Signal::derive(move || types.get().and_then(|r| r.ok()).unwrap_or_default());

    let save = Action::new(|t: &EventType| save_event_type(t.clone()));
    let form = EditDialog::new(save, move |t| {
        toasts.success(format!("Saved {}", t.name));
        refresh();
    });
    // Archiving is a save with the flag flipped; a separate action so its outcome goes to a toast, not the form.
    let archive = Action::new(|t: &EventType| save_event_type(t.clone()));
    on_success(archive, move |t| {
        toasts.success(format!("{} {}", if t.archived { "Archived" } else { "Unarchived" }, t.name));
        refresh();
    });

    let actions = admin.then(|| CardActions {
        edit: Callback::new(move |t| form.show(Some(t))),
        toggle_archived: Callback::new(move |t: EventType| {
            archive.dispatch(EventType { archived: !t.archived, ..t });
        }),
        busy: archive.pending().into(),
    });

    view! {
        <UnregisteredTypesSetting tenant_id=tenant_id tenant_name=shell.tenant.name.clone() admin=admin on_change=Callback::new(move |_| refresh())/>
        <div class="mb-4 flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
            <p class="text-sm text-slate-600 dark:text-slate-400">"The events producers publish and endpoints subscribe to. Open an entry for its example payload and schema."</p>
            {admin.then(|| view! {
                <button type="button" class=format!("{PRIMARY_BUTTON} shrink-0") on:click=move |_| form.show(None)>"New event type"</button>
            })}
        </div>
        <Transition fallback=|| view! { <p class="text-sm">"Loading the catalog…"</p> }>
            {move || types.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(list) => view! {
                    <div class="space-y-6">
                        {by_category(list).into_iter().map(|(category, items)| view! {
                            <section aria-label=category.clone()>
                                <h3 class="mb-2 text-sm font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300">{category.clone()}</h3>
                                <div class="grid gap-2 lg:grid-cols-2">
                                    {items.into_iter().map(|t| view! { <EventTypeCard t=t actions=actions/> }).collect_view()}
                                </div>
                            </section>
                        }).collect_view()}
                    </div>
                }.into_any(),
            })}
        </Transition>

        <Modal open=form.open id="event-type-form" wide=true
            title=Signal::derive(move || match form.editing.get() {
                None => "New event type".to_string(),
                Some(t) if t.unregistered => format!("Register {}", t.name),
                Some(t) => format!("Edit {}", t.name),
            })>
            {move || view! {
                <EventTypeForm
                    initial=form.editing.get()
                    catalog=catalog
                    pending=save.pending()
                    error=form.error()
                    on_submit=Callback::new(move |t: EventType| { save.dispatch(t); })
                    on_cancel=Callback::new(move |_| form.open.set(false))
                />
            }}
        </Modal>
    }
}

#[component]
fn EventTypeCard(t: EventType, actions: Option<CardActions>) -> impl IntoView {
    let name = t.name.clone();
    let heading = "mb-1 text-xs font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-300";
    let controls = actions.map(|a| {
        let verb = if t.archived { "Unarchive" } else { "Archive" };
        let (edit, flip) = (t.clone(), t.clone());
        // An unregistered type is registered by saving it with a category (and whatever else it should have).
        let edit_verb = if t.unregistered { "Register" } else { "Edit" };
        let registered = !t.unregistered;
        view! {
            <div class="flex shrink-0 gap-1">
                <button type="button" class=LINK_BUTTON aria-label=format!("{edit_verb} {name}") on:click=move |_| a.edit.run(edit.clone())>{edit_verb}</button>
                {registered.then(|| view! {
                    <button type="button" class=LINK_BUTTON aria-label=format!("{verb} {name}") disabled=move || a.busy.get()
                        on:click=move |_| a.toggle_archived.run(flip.clone())>{verb}</button>
                })}
            </div>
        }
    });
    let description = match t.first_seen_at.filter(|_| t.unregistered) {
        Some(seen) => view! { "Published without being registered; first seen " <At ms=seen/> "." }.into_any(),
        None => t.description.clone().into_any(),
    };
    view! {
        <article data-testid="event-type" class="flex items-start gap-2 rounded-lg bg-white p-3 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
            <details class="min-w-0 flex-1">
                <summary class="cursor-pointer rounded focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500">
                    <code class="break-all font-mono text-sm font-semibold">{name.clone()}</code>
                    {t.archived.then(|| view! { <span class=format!("{} ml-2", badge("gray")) data-testid="archived-badge">"Archived"</span> })}
                    {t.unregistered.then(|| view! { <span class=format!("{} ml-2", badge("amber")) data-testid="unregistered-badge">"Unregistered"</span> })}
                    <span class="mt-1 block text-sm text-slate-600 dark:text-slate-400" data-testid="event-description">{description}</span>
                </summary>
                <div class="mt-3 space-y-3">
                    <div data-testid="event-example">
                        <p class=heading>"Example payload"</p>
                        <Body text=t.example.to_string() label=format!("Example payload of {name}")/>
                    </div>
                    {match &t.schema {
                        Some(s) => view! {
                            <div data-testid="event-schema">
                                <p class=heading>"Schema"</p>
                                <Body text=s.to_string() label=format!("Schema of {name}")/>
                            </div>
                        }.into_any(),
                        None => view! { <p class="text-xs text-slate-600 dark:text-slate-400">"No schema: any JSON payload is accepted."</p> }.into_any(),
                    }}
                    <super::samples::CodeSamples event_type=name.clone() data=t.example.clone()/>
                </div>
            </details>
            {controls}
        </article>
    }
}

/// Add and edit form. Field errors from the server appear next to their fields; input is kept on error.
#[component]
fn EventTypeForm(
    initial: Option<EventType>,
    catalog: Signal<Vec<EventType>>,
    #[prop(into)] pending: Signal<bool>,
    #[prop(into)] error: Signal<Option<AppError>>,
    on_submit: Callback<EventType>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    // Registering an unregistered type fills in an entry whose name is already fixed (producers publish it).
    let editing = initial.is_some();
    let registering = initial.as_ref().is_some_and(|t| t.unregistered);
    let created_at = initial.as_ref().map_or(0, |t| t.created_at);
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let t = initial.as_ref();
    let name = RwSignal::new(t.map(|t| t.name.clone()).unwrap_or_default());
    let category = RwSignal::new(t.map(|t| t.category.clone()).unwrap_or_default());
    let description = RwSignal::new(t.map(|t| t.description.clone()).unwrap_or_default());
    let example = RwSignal::new(t.map_or_else(|| "{}".to_string(), |t| pretty(&t.example)));
    let schema = RwSignal::new(t.and_then(|t| t.schema.as_ref()).map(pretty).unwrap_or_default());
    let archived = RwSignal::new(t.is_some_and(|t| t.archived));

    let field = move |f: &'static str| move || error.get().and_then(|e| e.field_message(f).map(str::to_string));
    // Saving is an upsert: a "new" type under a taken name would silently replace that entry.
    let name_taken = Memo::new(move |_| {
        !editing && name.with(|n| catalog.read().iter().any(|t| !t.unregistered && t.name == n.trim()))
    });
    let example_invalid = Memo::new(move |_| example.with(|s| parse_json(s).err()));
    let schema_invalid =
        Memo::new(move |_| schema.with(|s| (!s.trim().is_empty()).then(|| parse_json(s).err()).flatten()));
    let name_error =
        move || name_taken.get().then(|| "already exists; edit that entry instead".to_string()).or_else(field("name"));
    let blocked = move || name_taken.get() || example_invalid.get().is_some() || schema_invalid.get().is_some();
    let categories = move || {
        let mut c: Vec<String> =
            catalog.read().iter().filter(|t| !t.unregistered).map(|t| t.category.clone()).collect();
        c.dedup(); // listed by category, so equal ones are adjacent
        c
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let s = schema.get_untracked();
        let schema = match s.trim() {
            "" => None,
            s => match parse_json(s) {
                Ok(v) => Some(v),
                Err(_) => return,
            },
        };
        let Ok(example) = parse_json(&example.get_untracked()) else { return };
        if name_taken.get_untracked() {
            return;
        }
        on_submit.run(EventType {
            name: name.get_untracked().trim().to_string(),
            category: category.get_untracked().trim().to_string(),
            description: description.get_untracked().trim().to_string(),
            example,
            schema,
            archived: archived.get_untracked(),
            created_at,
            updated_at: 0,
            unregistered: false,
            first_seen_at: None,
        });
    };

    let hint = "mt-1 text-xs text-slate-600 dark:text-slate-400";
    // A fixed name looks fixed: the background is swapped rather than a second one stacked on top.
    let name_class = if editing {
        INPUT_CLASS.replace("bg-white", "bg-slate-100").replace("dark:bg-slate-800", "dark:bg-slate-950")
    } else {
        INPUT_CLASS.to_string()
    };
    view! {
        <form on:submit=submit class="space-y-4" novalidate=true>
            <div class="grid gap-4 sm:grid-cols-2">
                <div>
                    <label for="et-name" class=LABEL>"Name"</label>
                    <input id="et-name" class=format!("{name_class} font-mono") readonly=editing autofocus=!editing
                        placeholder="crm.deal_won" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))
                        aria-invalid=move || name_error().is_some().to_string() aria-describedby="et-name-hint et-name-error"/>
                    <p id="et-name-hint" class=hint>{if editing { "Names cannot change: endpoints subscribe by name." } else { "Lowercase letters, digits and _ between dots." }}</p>
                    <p id="et-name-error" class=FIELD_ERROR>{name_error}</p>
                </div>
                <div>
                    <label for="et-category" class=LABEL>"Category"</label>
                    <input id="et-category" class=INPUT_CLASS list="et-categories" autofocus=editing prop:value=move || category.get()
                        on:input=move |ev| category.set(event_target_value(&ev))
                        aria-invalid=move || field("category")().is_some().to_string() aria-describedby="et-category-error"/>
                    <datalist id="et-categories">
                        {move || categories().into_iter().map(|c| view! { <option value=c/> }).collect_view()}
                    </datalist>
                    <p id="et-category-error" class=FIELD_ERROR>{field("category")}</p>
                </div>
                <div class="sm:col-span-2">
                    <label for="et-description" class=LABEL>"Description"</label>
                    <textarea id="et-description" rows="2" class=INPUT_CLASS prop:value=move || description.get()
                        on:input=move |ev| description.set(event_target_value(&ev))
                        aria-invalid=move || field("description")().is_some().to_string() aria-describedby="et-description-error"></textarea>
                    <p id="et-description-error" class=FIELD_ERROR>{field("description")}</p>
                </div>
            </div>
            <JsonField id="et-example" label="Example payload" hint="(JSON; what test-fire and template previews send as data)"
                value=example error=Signal::derive(move || example_invalid.get().or_else(field("example")))/>
            <JsonField id="et-schema" label="Schema" hint="(optional; JSON Schema, any draft: pattern, additionalProperties, oneOf, format… References stay inside the schema: #/$defs/…)"
                value=schema error=Signal::derive(move || schema_invalid.get().or_else(field("schema")))/>
            {(editing && !registering).then(|| view! {
                <label class="flex items-center gap-2 text-sm">
                    <input type="checkbox" id="et-archived" prop:checked=move || archived.get() on:change=move |ev| archived.set(event_target_checked(&ev))/>
                    "Archived "
                    <span class="text-slate-600 dark:text-slate-400">"(publishing it is refused; endpoint forms no longer offer it)"</span>
                </label>
            })}
            <p role="alert" class="text-sm text-rose-700 dark:text-rose-400">{move || error.get().map(|e| if e.fields.is_empty() { e.message } else { "Please correct the highlighted fields.".to_string() })}</p>
            <DialogActions on_dismiss=on_cancel label=if registering { "Register event type" } else if editing { "Save changes" } else { "Create event type" } pending_label="Saving…"
                pending=pending blocked=Signal::derive(blocked)/>
        </form>
    }
}

/// A JSON textarea: says at once when its text does not parse, otherwise shows the server's message for it.
#[component]
fn JsonField(
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div>
            <label for=id class=LABEL>{label} " " <span class="font-normal text-slate-600 dark:text-slate-400">{hint}</span></label>
            <textarea id=id rows="8" spellcheck="false" class=format!("{INPUT_CLASS} font-mono text-xs")
                aria-invalid=move || error.get().is_some().to_string() aria-describedby=error_id.clone()
                prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))></textarea>
            <p id=error_id class=FIELD_ERROR>{move || error.get()}</p>
        </div>
    }
}

/// The tenant's switch for unregistered types: admins flip it, tenant users see how it is set.
#[component]
fn UnregisteredTypesSetting(
    tenant_id: String,
    tenant_name: String,
    admin: bool,
    on_change: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let settings = {
        let tenant_id = tenant_id.clone();
        Resource::new(|| (), move |_| get_event_type_settings(tenant_id.clone()))
    };
    let save = Action::new(|s: &EventTypeSettings| set_event_type_settings(s.clone()));
    // What the switch shows: the saved value once known, then each saved change.
    let on = RwSignal::new(None::<bool>);
    Effect::new(move |_| {
        if let Some(Ok(s)) = settings.get() {
            on.set(Some(s.accept_unregistered_types));
        }
    });
    on_success(save, move |s| {
        on.set(Some(s.accept_unregistered_types));
        toasts.success(if s.accept_unregistered_types {
            "Unregistered event types are accepted"
        } else {
            "Unregistered event types are refused"
        });
        on_change.run(());
    });
    let error = move || {
        let load = settings.get().and_then(|r| r.err());
        save.value().get().and_then(|r| r.err()).or(load).map(|e| e.message)
    };
    let flip = move |_| {
        let next = !on.get_untracked().unwrap_or(false);
        save.dispatch(EventTypeSettings { tenant_id: tenant_id.clone(), accept_unregistered_types: next });
    };
    let checked = move || on.get().unwrap_or(false);
    let explanation = "When on, this tenant's producers may publish event types that are not in the catalog: the event is \
        accepted and delivered to endpoints subscribed to its name or a matching wildcard, and the type appears below as \
        Unregistered until someone registers it with a category, a description and a schema. When off, such events are \
        refused (422).";
    view! {
        <section aria-labelledby="unregistered-setting-title" class="mb-6 rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-900/5 dark:bg-slate-900 dark:ring-white/10">
            <div class="flex items-start justify-between gap-4">
                <div class="min-w-0">
                    <h3 id="unregistered-setting-title" class="text-sm font-semibold text-slate-900 dark:text-white">
                        "Accept unregistered event types for " {tenant_name}
                    </h3>
                    <p id="unregistered-setting-help" class="mt-1 text-sm text-slate-600 dark:text-slate-400">{explanation}</p>
                </div>
                {if admin {
                    view! {
                        <button type="button" role="switch" data-testid="accept-unregistered"
                            aria-checked=move || checked().to_string()
                            aria-labelledby="unregistered-setting-title" aria-describedby="unregistered-setting-help"
                            disabled=move || on.get().is_none() || save.pending().get()
                            on:click=flip
                            class=move || format!(
                                "relative inline-flex h-6 w-11 shrink-0 items-center rounded-full transition-colors disabled:opacity-60 \
                                 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 {}",
                                if checked() { "bg-indigo-600" } else { "bg-slate-300 dark:bg-slate-600" })>
                            <span aria-hidden="true" class=move || format!(
                                "inline-block h-5 w-5 transform rounded-full bg-white shadow transition-transform {}",
                                if checked() { "translate-x-5" } else { "translate-x-0.5" })></span>
                        </button>
                    }.into_any()
                } else {
                    view! {
                        <span class=move || badge(if checked() { "green" } else { "gray" }) data-testid="accept-unregistered-state">
                            {move || if checked() { "On" } else { "Off" }}
                        </span>
                    }.into_any()
                }}
            </div>
            <p role="alert" class="mt-2 text-sm text-rose-700 dark:text-rose-400">{error}</p>
        </section>
    }
}
