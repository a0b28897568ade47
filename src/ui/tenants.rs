//! The admins' Tenants page: every tenant with its endpoints, keys and the last day's deliveries, a form to
//! create one, and per tenant Rename, Suspend and Resume. Suspending refuses the tenant's API keys and holds its
//! deliveries (paused) until it is resumed; the page says so before it is done.

use super::style::*;
use super::toast::{on_success, use_toasts};
use super::widgets::{CardTable, Column};
use crate::model::{ShellContext, TenantSummary};
use crate::server_fns::people::{
    list_tenant_summaries, rename_tenant, set_tenant_require_two_factor, set_tenant_suspended,
};
use crate::server_fns::shell::create_tenant;
use leptos::prelude::*;
use leptos_meta::Title;

const COLUMNS: &[Column] = &[
    Column::Left("Tenant"),
    Column::Right("Endpoints"),
    Column::Right("API keys"),
    Column::Right("Deliveries (24 h)"),
    Column::Right("Success rate"),
    Column::Unseen("Actions"),
];

/// The share of successes as the page shows it.
pub fn rate_text(s: &TenantSummary) -> String {
    s.success_rate().map(|r| format!("{r:.1} %")).unwrap_or_else(|| "—".into())
}

#[component]
pub fn TenantsPage() -> impl IntoView {
    let admin = expect_context::<ShellContext>().user.role == crate::model::Role::Admin;
    view! {
        <Title text="Tenants"/>
        <h1 class="text-2xl font-semibold">"Tenants"</h1>
        {if admin {
            view! { <TenantsAdmin/> }.into_any()
        } else {
            view! { <p role="alert" class="mt-4 text-sm text-rose-700 dark:text-rose-400">"Only admins manage tenants."</p> }.into_any()
        }}
    }
}

#[component]
fn TenantsAdmin() -> impl IntoView {
    let toasts = use_toasts();
    let version = RwSignal::new(0u32);
    let list = Resource::new(move || version.get(), |_| list_tenant_summaries());
    let new_name = RwSignal::new(String::new());
    let create = Action::new(move |name: &String| create_tenant(name.clone()));
    on_success(create, move |t| {
        toasts.success(format!("Created “{}”", t.name));
        new_name.set(String::new());
        version.update(|v| *v += 1);
    });
    let suspend = Action::new(|(id, on): &(String, bool)| set_tenant_suspended(id.clone(), *on));
    on_success(suspend, move |t| {
        let what = if t.suspended_at.is_some() { "suspended" } else { "resumed" };
        toasts.success(format!("“{}” {what}", t.name));
        version.update(|v| *v += 1);
    });
    let two_factor = Action::new(|(id, on): &(String, bool)| set_tenant_require_two_factor(id.clone(), *on));
    on_success(two_factor, move |t| {
        let what = if t.require_two_factor { "now requires" } else { "no longer requires" };
        toasts.success(format!("“{}” {what} two-factor sign-in", t.name));
        version.update(|v| *v += 1);
    });
    let rename = Action::new(|(id, name): &(String, String)| rename_tenant(id.clone(), name.clone()));
    on_success(rename, move |t| {
        toasts.success(format!("Renamed to “{}”", t.name));
        version.update(|v| *v += 1);
    });
    view! {
        <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
            "Suspending a tenant refuses its API keys (403 “tenant suspended”) and holds its deliveries as paused; resuming sends them. "
            "Requiring two-factor sign-in signs out the tenant's people who have none; they set it up at their next sign-in."
        </p>
        <form class="mt-4 flex max-w-lg items-end gap-2" on:submit=move |ev| {
            ev.prevent_default();
            create.dispatch(new_name.get_untracked());
        }>
            <div class="flex-1">
                <label for="new-tenant" class=LABEL>"New tenant"</label>
                <input id="new-tenant" class=INPUT_CLASS placeholder="Name" required
                    prop:value=move || new_name.get() on:input=move |ev| new_name.set(event_target_value(&ev))/>
            </div>
            <button type="submit" class=PRIMARY_BUTTON disabled=move || create.pending().get()>"Create"</button>
        </form>
        <Transition fallback=|| view! { <p class="mt-4 text-sm">"Loading tenants…"</p> }>
            {move || list.get().map(|r| match r {
                Err(e) => view! { <p role="alert" class="mt-4 text-sm text-rose-700 dark:text-rose-400">{e.message}</p> }.into_any(),
                Ok(rows) => view! {
                    <CardTable columns=COLUMNS label="Tenants">
                        {rows.into_iter().map(|s| view! { <TenantRow s=s suspend=suspend rename=rename two_factor=two_factor/> }).collect_view()}
                    </CardTable>
                }.into_any(),
            })}
        </Transition>
    }
}

type Suspend = Action<(String, bool), Result<crate::model::Tenant, crate::model::AppError>>;
type Rename = Action<(String, String), Result<crate::model::Tenant, crate::model::AppError>>;

#[component]
fn TenantRow(s: TenantSummary, suspend: Suspend, rename: Rename, two_factor: Suspend) -> impl IntoView {
    let required = s.tenant.require_two_factor;
    let id = StoredValue::new(s.tenant.id.clone());
    let name = s.tenant.name.clone();
    let suspended = s.tenant.suspended_at.is_some();
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(name.clone());
    let field = format!("rename-{}", s.tenant.id);
    let rate = rate_text(&s);
    let label = name.clone();
    view! {
        <tr data-testid="tenant-row" data-tenant=s.tenant.id.clone()>
            <td class="px-4 py-3">
                <Show when=move || editing.get() fallback={
                    let name = name.clone();
                    move || view! {
                        <span class="font-medium">{name.clone()}</span>
                        " "
                        {suspended.then(|| view! { <span class=badge("amber")>"Suspended"</span> })}
                        " "
                        {required.then(|| view! { <span class=badge("green")>"Two-factor required"</span> })}
                    }
                }>
                    <form class="flex items-center gap-2" on:submit=move |ev| {
                        ev.prevent_default();
                        editing.set(false);
                        rename.dispatch((id.get_value(), draft.get_untracked()));
                    }>
                        <label for=field.clone() class="sr-only">"Tenant name"</label>
                        <input id=field.clone() class=INPUT_CLASS required prop:value=move || draft.get()
                            on:input=move |ev| draft.set(event_target_value(&ev))/>
                        <button type="submit" class=SECONDARY_BUTTON>"Save"</button>
                    </form>
                </Show>
            </td>
            <td class="px-4 py-3 text-right tabular-nums">{s.endpoints}</td>
            <td class="px-4 py-3 text-right tabular-nums">{s.keys}</td>
            <td class="px-4 py-3 text-right tabular-nums">{s.deliveries_24h}</td>
            <td class="px-4 py-3 text-right tabular-nums">{rate}</td>
            <td class="whitespace-nowrap px-4 py-3 text-right">
                <button type="button" class=LINK_BUTTON aria-label=format!("Rename {label}")
                    on:click=move |_| editing.update(|e| *e = !*e)>"Rename"</button>
                <button type="button" class=LINK_BUTTON
                    aria-label=format!("{} two-factor sign-in for {label}", if required { "Stop requiring" } else { "Require" })
                    disabled=move || two_factor.pending().get()
                    on:click=move |_| { two_factor.dispatch((id.get_value(), !required)); }>
                    {if required { "Make two-factor optional" } else { "Require two-factor" }}
                </button>
                <button type="button" class=LINK_BUTTON aria-label=format!("{} {label}", if suspended { "Resume" } else { "Suspend" })
                    disabled=move || suspend.pending().get()
                    on:click=move |_| { suspend.dispatch((id.get_value(), !suspended)); }>
                    {if suspended { "Resume" } else { "Suspend" }}
                </button>
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tenant;

    #[test]
    fn success_rate_reads_as_a_percentage_or_a_dash() {
        let t = Tenant {
            id: "ten_1".into(),
            name: "A".into(),
            created_at: 0,
            suspended_at: None,
            require_two_factor: false,
        };
        let s = TenantSummary { tenant: t, endpoints: 1, keys: 1, deliveries_24h: 4, succeeded_24h: 3 };
        assert_eq!(rate_text(&s), "75.0 %");
        assert_eq!(rate_text(&TenantSummary { deliveries_24h: 0, succeeded_24h: 0, ..s }), "—");
    }
}
