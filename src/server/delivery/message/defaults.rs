//! The message a chat or email destination sends when its endpoint has no template of its own, per event
//! category: each names the object the event is about (a ticket, a contact, an approval, a registration…) the
//! way a person would, with the fields that matter for it. Fields an event does not have render empty and are
//! left out, so one default serves every event of its category.

use crate::model::{MessageField, MessageTemplate};

fn field(name: &str, value: &str) -> MessageField {
    MessageField { name: name.to_string(), value: value.to_string() }
}

/// `ticket.status_changed` → "Ticket status changed".
pub const HUMAN_TYPE: &str = "{{ type | replace('_', ' ') | replace('.', ' ') | capitalize }}";

/// The default message for an event type, chosen by the part before its first dot.
pub fn default_template(event_type: &str) -> MessageTemplate {
    let category = event_type.split('.').next().unwrap_or_default();
    let (title, text, fields, link): (String, &str, Vec<MessageField>, &str) = match category {
        "ticket" | "sla" => (
            format!("{HUMAN_TYPE}: {{% if ticket.number %}}#{{{{ ticket.number }}}} {{% endif %}}{{{{ ticket.subject or subject }}}}"),
            "{{ comment.body or resolution_note or reason or ticket.subject }}",
            vec![
                field("Status", "{{ ticket.status }}"),
                field("Priority", "{{ ticket.priority }}"),
                field("Requester", "{{ ticket.requester.name }}"),
                field("Assignee", "{{ ticket.assignee.name or assignee.name }}"),
            ],
            "{{ ticket.url }}",
        ),
        "contact" => (
            format!("{HUMAN_TYPE}: {{{{ contact.name or name }}}}"),
            "{{ contact.email or email }}{% if contact.company.name %} · {{ contact.company.name }}{% endif %}",
            vec![
                field("Stage", "{{ contact.lifecycle_stage }}"),
                field("Source", "{{ source }}"),
                field("Lead score", "{{ contact.lead_score }}"),
            ],
            "{{ contact.url }}",
        ),
        "approval" => (
            format!("{HUMAN_TYPE}: {{{{ request.title }}}}"),
            "Requested by {{ request.requested_by.name }}{% if comment %}: “{{ comment }}”{% endif %}",
            vec![
                field("Step", "{{ step.number }}/{{ step.total_steps }} {{ step.name }}"),
                field("Decision", "{{ decision }}"),
                field("Decided by", "{{ decided_by.name }}"),
                field("Amount", "{% if request.amount %}{{ request.amount / 100 }} {{ request.currency }}{% endif %}"),
            ],
            "{{ request.url }}",
        ),
        "registration" | "invitation" => (
            format!("{HUMAN_TYPE}: {{{{ event.title }}}}"),
            "{{ registration.attendee.name or invitation.invitee.name }} · {{ registration.ticket_type or invitation.role }}",
            vec![
                field("Status", "{{ registration.status or invitation.status }}"),
                field("Confirmation", "{{ confirmation_code }}"),
                field("Starts", "{{ event.starts_at }}"),
            ],
            "{{ event.url }}",
        ),
        "event" => (
            format!("{HUMAN_TYPE}: {{{{ event.title }}}}"),
            "{{ message or reason or event.venue.name }}",
            vec![
                field("Starts", "{{ event.starts_at }}"),
                field("Format", "{{ event.format }}"),
                field("Capacity", "{{ event.capacity }}"),
            ],
            "{{ url or event.url }}",
        ),
        "payment" => (
            format!("{HUMAN_TYPE}: {{{{ (amount or payment.amount) / 100 }}}} {{{{ currency or payment.currency }}}}"),
            "{{ payment.payer.name }}{% if failure_message %}: {{ failure_message }}{% endif %}",
            vec![field("Method", "{{ payment.method }}"), field("Status", "{{ payment.status }}")],
            "{{ receipt_url }}",
        ),
        "conversation" | "message" => (
            format!("{HUMAN_TYPE}: {{{{ conversation.subject or from.name or sender.name }}}}"),
            "{{ first_message.body or body }}",
            vec![
                field("Channel", "{{ conversation.channel or channel }}"),
                field("Contact", "{{ conversation.contact.name or from.name }}"),
                field("Assignee", "{{ assignee.name or conversation.assignee.name }}"),
            ],
            "",
        ),
        "hub" => (
            format!("{HUMAN_TYPE}: {{{{ endpoint.name or key.name or tenant.name }}}}"),
            "{{ reason }}",
            vec![
                field("Endpoint", "{{ endpoint.url }}"),
                field("Event", "{{ delivery.event_type }}"),
                field("Expires", "{{ key.expires_at }}"),
            ],
            "",
        ),
        _ => (
            HUMAN_TYPE.to_string(),
            "{{ title or name or subject or description or message or data.id }}",
            vec![field("Id", "{{ data.id }}")],
            "{{ url }}",
        ),
    };
    MessageTemplate { title, text: text.to_string(), fields, link: link.to_string() }
}
