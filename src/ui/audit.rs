//! The Audit tab: who changed what, when and from where, newest first, with each change's before and after.
//! Tenant users see their tenant's trail; admins this tenant's or, ticking "All tenants", every tenant's. Filters
//! apply on submit; "Load more" follows the server's cursor; the CSV export takes the same filters.

use super::layout::use_tenant_id;
use super::style::*;
use super::time::{end_of_day_ms, At};
use super::toast::on_success;
use super::widgets::{CardTable, Column, EmptyState, FilterField, LoadMore};
use crate::model::{AuditEntry, AuditQuery, Role, ShellContext};
use crate::server_fns::audit::list_audit;
use leptos::prelude::*;

const PAGE: u32 = 50;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Filters {
    actor: String,
    action: String,
    object: String,
    from: String,
    to: String,
    all_tenants: bool,
}

impl Filters {
    fn query(&self, cursor: Option<String>) -> AuditQuery {
        let some = |s: &String| (!s.trim().is_empty()).then(|| s.trim().to_string());
        AuditQuery {
            actor: some(&self.actor),
            action: some(&self.action),
            object: some(&self.object),
            since: end_of_day_ms(&self.from).map(|ms| ms - 86_399_999),
            until: end_of_day_ms(&self.to),
            cursor,
            limit: Some(PAGE),
            tenant_id: None,
        }
    }

    /// The export's address: the same filters as a query string (`tenant_id` left out for every tenant).
    fn export_href(&self, tenant: &str) -> String {
        let q = self.query(None);
        let mut params: Vec<(&str, String)> = Vec::new();
        if !self.all_tenants {
            params.push(("tenant_id", tenant.to_string()));
        }
        for (k, v) in [("actor", q.actor), ("action", q.action), ("object", q.object)] {
            if let Some(v) = v {
                params.push((k, v));
            }
        }
        for (k, v) in [("since", q.since), ("until", q.until)] {
            if let Some(v) = v {
                params.push((k, v.to_string()));
            }
        }
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        let qs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
        format!("/api/ui/audit.csv?{}", qs.join("&"))
    }
}

#[component]
pub fn AuditPanel() -> impl IntoView {
    let tenant = use_tenant_id();
    let admin = use_context::<ShellContext>().is_some_and(|c| c.user.role == Role::Admin);
    let draft = RwSignal::new(Filters::default());
    let applied = RwSignal::new(Filters::default());
    let extra = RwSignal::new(Vec::<AuditEntry>::new());
    let next = RwSignal::new(None::<String>);
    let first = Resource::new(
        move || (tenant.get_value(), applied.get()),
        move |(t, f)| async move {
            let r = list_audit(t, f.query(None), f.all_tenants).await;
            if let Ok(p) = &r {
                next.set(p.next_cursor.clone());
            }
            r
        },
    );
    let load_more = Action::new(move |cursor: &String| {
        let f = applied.get_untracked();
        let (t, q) = (tenant.get_value(), f.query(Some(cursor.clone())));
        async move { list_audit(t, q, f.all_tenants).await }
    });
    on_success(load_more, move |page| {
        next.set(page.next_cursor);
        extra.update(|e| e.extend(page.data));
    });
    let text = move |label: &'static str,
                     id: &'static str,
                     get: fn(&Filters) -> String,
                     set: fn(&mut Filters, String),
                     kind: &'static str| {
        let value = Signal::derive(move || draft.with(get));
        view! { <FilterField label id kind value on_input=Callback::new(move |v| draft.update(|d| set(d, v)))/> }
    };

    view! {
        <form class="grid grid-cols-1 gap-3 md:grid-cols-5 md:items-end" role="search" aria-label="Filter the audit trail"
            on:submit=move |ev| {
                ev.prevent_default();
                extra.set(Vec::new());
                applied.set(draft.get_untracked());
            }>
            {text("Actor (id, email or key name)", "aud-actor", |d| d.actor.clone(), |d, v| d.actor = v, "search")}
            {text("Action or kind (webhook)", "aud-action", |d| d.action.clone(), |d, v| d.action = v, "search")}
            {text("Object (id or kind)", "aud-object", |d| d.object.clone(), |d, v| d.object = v, "search")}
            {text("From (UTC)", "aud-from", |d| d.from.clone(), |d, v| d.from = v, "date")}
            {text("To (UTC)", "aud-to", |d| d.to.clone(), |d, v| d.to = v, "date")}
            <div class="flex flex-wrap items-center gap-3 md:col-span-5">
                <button type="submit" class=PRIMARY_BUTTON>"Apply filters"</button>
                {admin.then(|| view! {
                    <label class="flex items-center gap-2 text-sm">
                        <input type="checkbox" class="h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-600 dark:border-slate-600 dark:bg-slate-800"
                            prop:checked=move || draft.with(|d| d.all_tenants)
                            on:change=move |ev| draft.update(|d| d.all_tenants = event_target_checked(&ev))/>
                        "All tenants"
                    </label>
                })}
                <a class=SECONDARY_BUTTON href=move || applied.with(|f| f.export_href(&tenant.get_value())) download="" data-testid="audit-export">
                    "Export CSV"
                </a>
            </div>
        </form>

        <Transition fallback=|| view! { <p class="mt-6 text-sm">"Loading the audit trail…"</p> }>
            {move || first.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="mt-6 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(page) => {
                    let mut all = page.data;
                    all.extend(extra.get());
                    if all.is_empty() {
                        return view! { <EmptyState title="Nothing recorded">"Changes to endpoints, keys, people and events are recorded here."</EmptyState> }.into_any();
                    }
                    view! {
                        <AuditTable rows=all/>
                        {move || next.get().map(|c| view! {
                            <LoadMore cursor=c pending=load_more.pending().into()
                                on_load=Callback::new(move |c| { load_more.dispatch(c); })/>
                        })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn AuditTable(rows: Vec<AuditEntry>) -> impl IntoView {
    use Column::*;
    const COLUMNS: &[Column] =
        &[Left("Time"), Left("Actor"), Left("Action"), Left("Object"), Left("IP"), Left("Changes")];
    let json = |v: &Option<serde_json::Value>| v.as_ref().and_then(|v| serde_json::to_string_pretty(v).ok());
    view! {
        <CardTable columns=COLUMNS label="Audit trail">
            {rows.into_iter().map(|e| {
                let (before, after) = (json(&e.before), json(&e.after));
                let has_changes = before.is_some() || after.is_some();
                view! {
                    <tr data-testid="audit-row" data-action=e.action.clone() class="align-top">
                        <td class="whitespace-nowrap px-4 py-2"><At ms=e.at/></td>
                        <td class="px-4 py-2">
                            <div>{e.actor_label.clone().unwrap_or_else(|| e.actor.clone())}</div>
                            <div class="font-mono text-xs text-slate-600 dark:text-slate-400">{e.actor.clone()}</div>
                        </td>
                        <td class="px-4 py-2 font-mono text-xs" data-testid="audit-action">{e.action.clone()}</td>
                        <td class="max-w-[16rem] px-4 py-2">
                            <div class="truncate">{e.object_name.clone().or(e.detail.clone()).unwrap_or_default()}</div>
                            <div class="break-all font-mono text-xs text-slate-600 dark:text-slate-400">{e.target.clone().unwrap_or_default()}</div>
                        </td>
                        <td class="whitespace-nowrap px-4 py-2 font-mono text-xs">{e.ip.clone().unwrap_or_else(|| "—".into())}</td>
                        <td class="px-4 py-2">
                            {if has_changes {
                                view! {
                                    <details>
                                        <summary class="cursor-pointer text-sm font-medium text-indigo-700 dark:text-indigo-300">"Before and after"</summary>
                                        <div class="mt-2 grid gap-2 md:grid-cols-2">
                                            <div>
                                                <p class="text-xs font-semibold">"Before"</p>
                                                <pre class="max-h-60 overflow-auto whitespace-pre-wrap break-all rounded bg-slate-100 p-2 text-xs dark:bg-slate-800 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500"
                                                    tabindex="0" role="region" aria-label="Before">{before.unwrap_or_else(|| "—".into())}</pre>
                                            </div>
                                            <div>
                                                <p class="text-xs font-semibold">"After"</p>
                                                <pre class="max-h-60 overflow-auto whitespace-pre-wrap break-all rounded bg-slate-100 p-2 text-xs dark:bg-slate-800 focus-visible:outline focus-visible:outline-2 focus-visible:outline-indigo-500"
                                                    tabindex="0" role="region" aria-label="After">{after.unwrap_or_else(|| "—".into())}</pre>
                                            </div>
                                        </div>
                                    </details>
                                }.into_any()
                            } else {
                                view! { <span class="text-sm text-slate-600 dark:text-slate-400">{e.detail.clone().unwrap_or_else(|| "—".into())}</span> }.into_any()
                            }}
                        </td>
                    </tr>
                }
            }).collect_view()}
        </CardTable>
    }
}
