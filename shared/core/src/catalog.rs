//! The app directory: the 19 provisioning apps of the product documentation.
//!
//! Capabilities follow the product's table (create, suspend, delete/remove, groups). Where a
//! vendor's real API differs from that table, the entry says what really happens
//! (`remove_means`, `differences_from_product_docs`): we never report an action the vendor
//! did not take.

use serde::Serialize;

use crate::company::Plan;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionType {
    /// The admin is sent to the vendor to approve access and comes back.
    Oauth,
    /// The admin pastes credentials into a form.
    ApiKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Capabilities {
    pub create: bool,
    pub suspend: bool,
    /// Remove the account (see `remove_means` for what the vendor really does).
    pub delete: bool,
    pub groups: bool,
    /// Can create a work email (mailbox) for a new employee.
    pub work_email: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    /// An https URL (checked against the vendor's host pattern at connect).
    Url,
    Choice {
        options: &'static [&'static str],
    },
}

/// One field of an API-key app's connect form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CredentialField {
    pub name: &'static str,
    pub label: &'static str,
    /// Secrets go to the secret store only and are never shown again.
    pub secret: bool,
    #[serde(flatten)]
    pub kind: FieldKind,
    /// Whether the connect form must carry it (an optional choice left out is its first
    /// option).
    pub required: bool,
    /// For a choice whose options after the first cannot be undone: what they do, and the
    /// field that must confirm them.
    pub confirmation: Option<Confirmation>,
}

/// A choice an admin must confirm: a connect form choosing any option but the first must
/// also carry `field: true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Confirmation {
    pub field: &'static str,
    /// What the choice does, said before the admin confirms it.
    pub warning: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct App {
    pub slug: &'static str,
    pub name: &'static str,
    pub connection_type: ConnectionType,
    pub capabilities: Capabilities,
    /// Whether the company needs the Plus or Premium plan (all apps but Google Workspace and
    /// Microsoft 365).
    pub requires_plus_or_premium: bool,
    /// What the vendor's own plan must be, when it matters.
    pub vendor_plan_note: Option<&'static str>,
    pub remove_means: &'static str,
    /// Whether removal deactivates the account at the vendor, leaving it in the state
    /// suspension leaves (15Five, Sauce Labs, Zoho Desk's confirmed agents, Slack,
    /// Salesforce): the vendor then lists a removed account as inactive, and the product
    /// keeps it recorded as removed.
    pub removal_deactivates: bool,
    pub suspend_means: Option<&'static str>,
    pub credential_fields: &'static [CredentialField],
    pub differences_from_product_docs: &'static [&'static str],
    /// The vendor tenant a connection is bound to (e.g. "Slack workspace"), as the vendor
    /// names it at connect.
    pub tenant: &'static str,
    /// What connecting credentials of another tenant does (the same for every app).
    pub tenant_switch: &'static str,
}

/// What every app's entry says about connecting credentials that reach another tenant.
pub const TENANT_SWITCH: &str = "A connection is bound to the tenant its credentials reach, as the vendor names it at connect. Connecting again with credentials of the same tenant only replaces them. Credentials that reach another tenant are refused unless the switch is confirmed (`switch_tenant: true`); after a switch, the previous tenant's accounts are shown as \"tenant no longer connected\", are never changed through the new credentials, and a dismissal asks you to remove them in the previous tenant yourself.";

/// Capabilities in the product table's order: create, suspend, delete, groups, work email.
pub const fn caps(create: bool, suspend: bool, delete: bool, groups: bool, work_email: bool) -> Capabilities {
    Capabilities {
        create,
        suspend,
        delete,
        groups,
        work_email,
    }
}

/// The two usual sets of capabilities.
pub const CREATE_REMOVE: Capabilities = caps(true, false, true, false, false);
pub const CREATE_SUSPEND_REMOVE: Capabilities = caps(true, true, true, false, false);

/// A secret credential field (kept in the secret store only, never shown again).
pub const fn secret(name: &'static str, label: &'static str) -> CredentialField {
    CredentialField {
        name,
        label,
        secret: true,
        kind: FieldKind::Text,
        required: true,
        confirmation: None,
    }
}

/// A plain text credential field, shown on the connection.
pub const fn text(name: &'static str, label: &'static str) -> CredentialField {
    CredentialField {
        name,
        label,
        secret: false,
        kind: FieldKind::Text,
        required: true,
        confirmation: None,
    }
}

/// An https URL credential field.
pub const fn url(name: &'static str, label: &'static str) -> CredentialField {
    CredentialField {
        name,
        label,
        secret: false,
        kind: FieldKind::Url,
        required: true,
        confirmation: None,
    }
}

/// A credential field with a fixed set of options.
pub const fn choice(
    name: &'static str,
    label: &'static str,
    options: &'static [&'static str],
) -> CredentialField {
    CredentialField {
        name,
        label,
        secret: false,
        kind: FieldKind::Choice { options },
        required: true,
        confirmation: None,
    }
}

/// An optional choice whose first option is the default and whose others cannot be undone
/// (`warning` says what they do): choosing one takes the confirmation's field, `true`, besides.
pub const fn confirmed_choice(
    name: &'static str,
    label: &'static str,
    options: &'static [&'static str],
    confirmation: Confirmation,
) -> CredentialField {
    CredentialField {
        name,
        label,
        secret: false,
        kind: FieldKind::Choice { options },
        required: false,
        confirmation: Some(confirmation),
    }
}

/// An app entry with the usual defaults (Plus or Premium, "Deletes the account in the app.",
/// a removal that deletes, no suspend, no credential fields); entries change what differs with struct update.
pub const fn app(
    slug: &'static str,
    name: &'static str,
    connection_type: ConnectionType,
    capabilities: Capabilities,
) -> App {
    App {
        slug,
        name,
        connection_type,
        capabilities,
        requires_plus_or_premium: true,
        vendor_plan_note: None,
        remove_means: "Deletes the account in the app.",
        removal_deactivates: false,
        suspend_means: None,
        credential_fields: &[],
        differences_from_product_docs: &[],
        tenant: "account",
        tenant_switch: TENANT_SWITCH,
    }
}

/// The app directory a service offers: the apps of the connectors it carries (built by the
/// vendor adapter from each vendor's spec), plus the sandbox apps in sandbox mode.
#[derive(Debug, Clone, Copy)]
pub struct Catalog {
    apps: &'static [&'static App],
}

impl Catalog {
    /// A directory of these apps, in the order given (the adapter orders them by name).
    pub const fn new(apps: &'static [&'static App]) -> Self {
        Self { apps }
    }

    /// Every app, in directory order.
    pub fn directory(&self) -> impl Iterator<Item = &'static App> + use<> {
        self.apps.iter().copied()
    }

    pub fn find(&self, slug: &str) -> Option<&'static App> {
        self.directory().find(|a| a.slug == slug)
    }

    /// The app, or `not_found` (an app this service does not offer does not exist).
    pub fn get(&self, slug: &str) -> Result<&'static App> {
        self.find(slug).ok_or_else(|| Error::not_found("app"))
    }
}

impl App {
    /// Whether a company on `plan` may use this app; the refusal says why.
    pub fn allowed_on(&self, plan: Plan) -> Result<(), String> {
        if self.requires_plus_or_premium && plan == Plan::Simple {
            Err(format!(
                "{} needs the Plus or Premium plan; this company is on Simple. Upgrade to use provisioning apps (Google Workspace and Microsoft 365 work on every plan).",
                self.name
            ))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLACK: App = app("slack", "Slack", ConnectionType::Oauth, CREATE_REMOVE);
    const GOOGLE: App = App {
        requires_plus_or_premium: false,
        ..app(
            "google_workspace",
            "Google Workspace",
            ConnectionType::Oauth,
            CREATE_REMOVE,
        )
    };

    #[test]
    fn plan_gating() {
        assert!(
            SLACK
                .allowed_on(Plan::Simple)
                .unwrap_err()
                .contains("Plus or Premium")
        );
        assert!(SLACK.allowed_on(Plan::Plus).is_ok());
        assert!(SLACK.allowed_on(Plan::Premium).is_ok());
        assert!(GOOGLE.allowed_on(Plan::Simple).is_ok());
    }

    #[test]
    fn a_catalog_finds_what_it_offers_and_nothing_else() {
        static APPS: [&App; 2] = [&SLACK, &GOOGLE];
        let catalog = Catalog::new(&APPS);
        assert_eq!(catalog.get("slack").unwrap().name, "Slack");
        assert_eq!(catalog.directory().count(), 2);
        assert!(catalog.get("sandbox_scim").is_err());
        assert!(Catalog::new(&[]).find("slack").is_none());
    }
}
