//! The app directory: the 19 provisioning apps of the product documentation.
//!
//! Capabilities follow the product's table (create, suspend, delete/remove, groups). Where a
//! vendor's real API differs from that table, the entry says what really happens
//! (`remove_means`, `differences_from_product_docs`): we never report an action the vendor
//! did not take.

use serde::Serialize;

use crate::company::{Company, Plan};
use crate::connections::{self, ConnectionState};
use crate::error::{Error, Result};
use crate::services::Services;

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
    pub suspend_means: Option<&'static str>,
    pub credential_fields: &'static [CredentialField],
    pub differences_from_product_docs: &'static [&'static str],
}

const fn caps(create: bool, suspend: bool, delete: bool, groups: bool, work_email: bool) -> Capabilities {
    Capabilities {
        create,
        suspend,
        delete,
        groups,
        work_email,
    }
}

const CREATE_REMOVE: Capabilities = caps(true, false, true, false, false);
const CREATE_SUSPEND_REMOVE: Capabilities = caps(true, true, true, false, false);

const fn secret(name: &'static str, label: &'static str) -> CredentialField {
    CredentialField {
        name,
        label,
        secret: true,
        kind: FieldKind::Text,
    }
}

const fn text(name: &'static str, label: &'static str) -> CredentialField {
    CredentialField {
        name,
        label,
        secret: false,
        kind: FieldKind::Text,
    }
}

const fn url(name: &'static str, label: &'static str) -> CredentialField {
    CredentialField {
        name,
        label,
        secret: false,
        kind: FieldKind::Url,
    }
}

const fn choice(
    name: &'static str,
    label: &'static str,
    options: &'static [&'static str],
) -> CredentialField {
    CredentialField {
        name,
        label,
        secret: false,
        kind: FieldKind::Choice { options },
    }
}

const fn app(
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
        suspend_means: None,
        credential_fields: &[],
        differences_from_product_docs: &[],
    }
}

use ConnectionType::{ApiKey, Oauth};

/// Every app, in directory (alphabetical) order.
pub const APPS: &[App] = &[
    App {
        remove_means: "Deactivates the user through 15Five's SCIM API (15Five documents no hard delete).",
        suspend_means: Some(
            "Deactivates the user (SCIM `active: false`), the same state removal leaves; reactivating sets them active again.",
        ),
        credential_fields: &[
            url(
                "scim_base_url",
                "SCIM 2.0 base URL (Settings → Integrations → SCIM 2.0)",
            ),
            secret("scim_token", "SCIM 2.0 token (30 characters)"),
        ],
        ..app("fifteen_five", "15Five", ApiKey, CREATE_SUSPEND_REMOVE)
    },
    App {
        remove_means: "Removes the user from the Asana organization; Asana hands their tasks and projects to the admin who connected Asana.",
        differences_from_product_docs: &[
            "Asana shows no invitation state, and the person sets their own name: a member added by email is listed as active.",
        ],
        ..app("asana", "Asana", Oauth, CREATE_REMOVE)
    },
    App {
        remove_means: "Moves the managed user's files and folders to the admin who connected Box, then deletes the user.",
        suspend_means: Some("Sets the user inactive: no sign-in, content kept."),
        differences_from_product_docs: &[
            "Box has no invitation state: a created managed user is an active account at once (Box emails them to set it up).",
        ],
        ..app("box", "Box", Oauth, CREATE_SUSPEND_REMOVE)
    },
    App {
        vendor_plan_note: Some("ClickUp's user management API needs the Enterprise plan."),
        remove_means: "Removes the member from the ClickUp Workspace (ClickUp deactivates them there): they lose access to the Workspace; their ClickUp account stays.",
        credential_fields: &[
            secret(
                "api_token",
                "Personal API token (starts with pk_) of a workspace owner or admin",
            ),
            text(
                "team_id",
                "Workspace (team) ID: the number after app.clickup.com/ in ClickUp's address",
            ),
        ],
        differences_from_product_docs: &[
            "ClickUp's user endpoints need the Enterprise plan; other plans are refused at connect.",
            "Creating an account invites the email as a Workspace member; it shows \"Invite Sent\" until the person accepts ClickUp's invitation.",
            "Only members are listed and managed: the Workspace's guests are left out.",
            "ClickUp keeps one display name per user, not a first and last name.",
        ],
        ..app("clickup", "ClickUp", ApiKey, CREATE_REMOVE)
    },
    App {
        remove_means: "Closes the user's membership of the DocuSign account (DocuSign never deletes users; an admin can reactivate a closed user).",
        differences_from_product_docs: &[
            "The person who connects DocuSign must be an administrator of the DocuSign account; the connection manages their default account.",
            "A created user gets DocuSign's activation email and shows as Invite Sent until they activate their account.",
            "Developer (demo) accounts can be connected: start the connection with `environment: demo` (account-d.docusign.com).",
        ],
        ..app("docusign", "DocuSign", Oauth, CREATE_REMOVE)
    },
    App {
        remove_means: "Removes the member from the Dropbox team and wipes team data from their linked devices; for 7 days an admin can recover the member or transfer their files.",
        suspend_means: Some("Suspends the member: no sign-in, files kept."),
        ..app("dropbox", "Dropbox", Oauth, CREATE_SUSPEND_REMOVE)
    },
    App {
        vendor_plan_note: Some("Requires a Digital Experience Monitoring plan or higher."),
        remove_means: "Deletes the user from the Dynatrace account.",
        credential_fields: &[
            text("account_uuid", "Account UUID"),
            text("client_id", "OAuth client ID (dt0s02.…)"),
            secret("client_secret", "OAuth client secret"),
        ],
        differences_from_product_docs: &[
            "Dynatrace's Account Management API uses an OAuth client (ID and secret) that the admin pastes, not a static API key.",
            "Dynatrace documents no plan gate for its API; a refusal is detected by the connect check.",
            "A created user is invited with no permissions: a Dynatrace admin puts them in groups.",
        ],
        ..app("dynatrace", "Dynatrace", ApiKey, CREATE_REMOVE)
    },
    App {
        vendor_plan_note: Some(
            "Any GitHub organization plan; the person connecting must be an owner of the organization.",
        ),
        remove_means: "Removes the person from the GitHub organization (or cancels a pending invitation); their personal account stays.",
        differences_from_product_docs: &[
            "Creating an account sends a GitHub organization invitation to the email (as a member, not an owner); it shows \"Invite Sent\" until the person accepts, and an invitation that expires or fails shows as removed.",
            "GitHub does not show members' email addresses: a member is listed by their GitHub login, and only pending invitations can be matched by email. Once someone accepts an invitation sent to their email, they appear as a member under their login in the next sync, to be matched to the team member by hand.",
            "Someone who is already a member cannot be invited again; match them to the team member by their GitHub login instead.",
            "The organization is the one the person connecting owns; an account that owns several organizations is refused (choosing one is not built yet).",
            "If the organization restricts OAuth app access, an owner must approve the app in the organization's settings (Third-party access) before it can connect.",
        ],
        ..app("github", "GitHub", Oauth, CREATE_REMOVE)
    },
    App {
        requires_plus_or_premium: false,
        remove_means: "Deletes the Google Workspace user (Google can restore it for about 20 days).",
        suspend_means: Some("Suspends the user: no sign-in, mail and files kept."),
        differences_from_product_docs: &[
            "Creating an account creates a mailbox with a random one-time password (never shown or stored) instead of sending an invitation; the person's personal email becomes the account's recovery email, and the password must be changed at the first sign-in.",
            "Google has no invitation state: a created user is listed as active at once.",
            "Only addresses on the Workspace's verified domains can be created; Google cannot invite an outside address.",
            "The connection must be made by a super admin (or an admin with the user management privileges).",
        ],
        ..app(
            "google_workspace",
            "Google Workspace",
            Oauth,
            caps(true, true, true, true, true),
        )
    },
    App {
        remove_means: "Removes the user from the HubSpot account.",
        differences_from_product_docs: &[
            "HubSpot does not say whether an invited user has accepted: \"Invite Sent\" is what the service recorded when it sent HubSpot's welcome email, and it stays so.",
        ],
        ..app("hubspot", "HubSpot", Oauth, CREATE_REMOVE)
    },
    App {
        vendor_plan_note: Some(
            "Requires a LastPass Business (or Enterprise) account: the account number and provisioning hash are in its Admin Console under Advanced → Enterprise API.",
        ),
        remove_means: "Removes the user from the LastPass Business account: the company's access and shared folders go, while their own LastPass account and vault stay theirs; an invitation not yet accepted is withdrawn instead.",
        suspend_means: Some("Disables the user: no sign-in; their data and membership are kept."),
        credential_fields: &[
            choice(
                "region",
                "Data center (us: lastpass.com, eu: lastpass.eu)",
                &["us", "eu"],
            ),
            text("cid", "Account number (CID)"),
            secret("provhash", "Provisioning hash"),
        ],
        differences_from_product_docs: &[
            "LastPass offers no OAuth for provisioning: connect with the account number and provisioning hash.",
            "Adding someone makes LastPass email them an invitation; the account shows as Invite Sent until they set it up.",
        ],
        ..app("lastpass", "LastPass", ApiKey, CREATE_SUSPEND_REMOVE)
    },
    App {
        requires_plus_or_premium: false,
        vendor_plan_note: Some(
            "Needs a Microsoft 365 subscription that includes Exchange Online, with a free licence for each new user. An administrator who can consent for the organization (e.g. a Global Administrator) approves the app's permissions; the person connecting needs the User Administrator or Global Administrator role.",
        ),
        remove_means: "Deletes the user (Microsoft keeps it restorable for 30 days) and frees its licence.",
        suspend_means: Some("Blocks sign-in (account disabled), mailbox kept."),
        differences_from_product_docs: &[
            "Creating an account creates a member user with a random one-time password (never shown or stored; it must be changed at first sign-in) and assigns a licence that includes an Exchange Online mailbox; no invitation is sent, and Microsoft shows no invitation state, so new accounts are listed active.",
            "Accounts are created only on the organization's verified domains; an outside address would be a guest, which the app does not invite.",
            "When no licence with Exchange Online is free, nothing is created and the error says so; a user created without one (the last licence taken meanwhile) gets a licence on the next attempt.",
        ],
        ..app(
            "microsoft_365",
            "Microsoft 365",
            Oauth,
            caps(true, true, true, false, true),
        )
    },
    App {
        vendor_plan_note: Some("Requires a paid Okta plan."),
        remove_means: "Deactivates the user, then deletes them.",
        suspend_means: Some(
            "Suspends the user (Okta's SUSPENDED status: no sign-in, assignments kept); only an active user can be suspended.",
        ),
        credential_fields: &[
            url("org_url", "Okta org URL (https://your-org.okta.com)"),
            secret("api_token", "API token"),
        ],
        ..app("okta", "Okta", ApiKey, CREATE_SUSPEND_REMOVE)
    },
    App {
        vendor_plan_note: Some(
            "Requires a paid Planview LeanKit (AgilePlace) plan; the API token must be an account administrator's.",
        ),
        remove_means: "Deletes the user from the LeanKit account.",
        suspend_means: Some(
            "Disables the user (LeanKit's `enabled: false`): no sign-in, boards and history kept.",
        ),
        credential_fields: &[
            text("account", "Account subdomain (the part before .leankit.com)"),
            secret("api_token", "API token of an account administrator"),
        ],
        differences_from_product_docs: &[
            "LeanKit's API sends no invitation: creating an account creates an enabled user with a random password nobody is told, so the person sets a password with LeanKit's \"Forgot password\" (or signs in with the account's SSO). The account shows as Invite Sent until their first sign-in.",
        ],
        ..app(
            "planview_leankit",
            "Planview LeanKit",
            ApiKey,
            CREATE_SUSPEND_REMOVE,
        )
    },
    App {
        remove_means: "Deactivates the user (Salesforce never deletes users); their licence is freed.",
        differences_from_product_docs: &[
            "Salesforce users cannot be deleted: removing one deactivates it.",
            "New users get the org's \"Standard User\" profile; Salesforce emails them to set a password, and shows no invitation state (they are listed active).",
            "Sandbox orgs can be connected: start the connection with `environment: sandbox` (test.salesforce.com).",
        ],
        ..app("salesforce", "Salesforce", Oauth, CREATE_REMOVE)
    },
    App {
        vendor_plan_note: Some(
            "Requires a Live Testing plan or higher; connect with an organization admin's username and access key.",
        ),
        remove_means: "Deactivates the user (Sauce Labs offers no delete); the user can no longer sign in or run tests.",
        suspend_means: Some(
            "Deactivates the user, which Sauce Labs calls suspending the account; activating restores access.",
        ),
        credential_fields: &[
            choice(
                "data_center",
                "Data center",
                &["us-west-1", "us-east-4", "eu-central-1"],
            ),
            // Goes with the access key into the HTTP Basic credentials.
            text("username", "Admin username"),
            secret("access_key", "Access key"),
        ],
        differences_from_product_docs: &[
            "Sauce Labs has no delete: removing a user deactivates it.",
            "Sauce Labs sends no invitation: the user is created active, as a member of the organization's default team, with a random password the person replaces through \"Forgot password\" (or signs in with the organization's SSO).",
            "Adding someone whose Sauce Labs user was deactivated activates that user again (Sauce Labs keeps the email taken).",
        ],
        ..app("sauce_labs", "Sauce Labs", ApiKey, CREATE_SUSPEND_REMOVE)
    },
    App {
        vendor_plan_note: Some("Requires a paid Slack plan with SCIM: Business+ or Enterprise Grid."),
        remove_means: "Deactivates the member (Slack never deletes members; their messages stay).",
        differences_from_product_docs: &[
            "Slack's SCIM API needs Business+ or Enterprise Grid; a Pro workspace is refused at connect.",
            "Slack deactivates rather than deletes members.",
        ],
        ..app("slack", "Slack", Oauth, CREATE_REMOVE)
    },
    App {
        vendor_plan_note: Some(
            "Free Trello Workspaces take 10 collaborators (members, guests and pending invitations); more need a paid plan.",
        ),
        remove_means: "Removes the member from the Trello Workspace and from every board in it; their Trello account, which they own, stays.",
        suspend_means: Some(
            "Deactivates the member in the Trello Workspace (no access to its boards); reactivating restores it.",
        ),
        credential_fields: &[
            text(
                "workspace",
                "Workspace ID or short name (the part after trello.com/w/ in its URL)",
            ),
            secret(
                "api_key",
                "API key of a Power-Up you own (trello.com/power-ups/admin → API key)",
            ),
            secret(
                "api_token",
                "User token of a Workspace admin (Trello's authorize page with scope=read,write,account and expiration=never)",
            ),
        ],
        differences_from_product_docs: &[
            "The product docs give no connection type; Trello connects with a pasted API key and a Workspace admin's user token (Trello's OAuth 2.0 endpoints are not confirmed yet).",
            "Trello does not show members' emails: an existing account is recognised by email only where Trello shows it, otherwise as the member the invitation added, or by full name when the person was already a member.",
            "Creating an account invites the email to the Workspace; until the person joins Trello or accepts, they are listed as \"Invite Sent\".",
        ],
        ..app("trello", "Trello", ApiKey, CREATE_SUSPEND_REMOVE)
    },
    App {
        vendor_plan_note: Some(
            "Supports Zoho Desk, Zoho Books and Zoho CRM (one product per connection). Zoho Desk needs a paid edition (Standard, Professional or Enterprise): its Free edition has no API.",
        ),
        remove_means: "Zoho Desk: deletes agents who never accepted their invitation and deactivates those who did (kept as deactivated, seat freed). Zoho Books and Zoho CRM: deletes the user.",
        suspend_means: Some(
            "Zoho Desk: deactivates the agent (the state a confirmed agent's removal leaves too). Zoho Books: marks the user inactive. Zoho CRM: sets the user's status to inactive. Reactivating undoes it.",
        ),
        credential_fields: &[
            choice("product", "Zoho product", &["desk", "books", "crm"]),
            choice(
                "data_center",
                "Data center (zoho.com: us, zoho.eu: eu, zoho.in: in, zoho.com.au: au, zoho.jp: jp, zohocloud.ca: ca, zoho.com.cn: cn, zoho.sa: sa)",
                &["us", "eu", "in", "au", "jp", "ca", "cn", "sa"],
            ),
            text(
                "client_id",
                "Self Client ID (Zoho API Console of your data center → Self Client → Client Secret tab)",
            ),
            secret("client_secret", "Self Client secret"),
            secret(
                "grant_code",
                "Grant code (Self Client → Generate Code, with the product's scopes listed below; paste it before it expires)",
            ),
        ],
        differences_from_product_docs: &[
            "Zoho has no static API keys: the admin pastes a Self Client's ID, secret and grant code, exchanged once for a refresh token.",
            "Scopes for the grant code: Zoho Desk `Desk.settings.ALL,Desk.basic.READ`; Zoho Books `ZohoBooks.settings.READ,ZohoBooks.settings.CREATE,ZohoBooks.settings.DELETE`; Zoho CRM `ZohoCRM.users.ALL,ZohoCRM.settings.roles.READ,ZohoCRM.settings.profiles.READ`. The Self Client's user must be an administrator of the product.",
            "The organization managed is the product's default one for the Zoho account (Zoho Desk: the first default when several are).",
            "Creating an account sends Zoho's invitation; the person is \"Invite Sent\" until they accept. New Zoho Desk agents get Desk's standard Agent permissions in the default department, new Zoho Books users the Staff role, new Zoho CRM users the Standard profile and the lowest role of the hierarchy; an admin can change them in Zoho.",
        ],
        ..app("zoho", "Zoho", ApiKey, CREATE_SUSPEND_REMOVE)
    },
];

/// Fake apps served by the devserver's sandbox, in the directory only in sandbox mode, so
/// every flow can be tried offline through the real connector code.
pub const SANDBOX_APPS: &[App] = &[
    App {
        requires_plus_or_premium: false,
        remove_means: "Deletes the user in the sandbox SCIM app.",
        suspend_means: Some("Sets the user inactive in the sandbox SCIM app."),
        credential_fields: &[
            url(
                "scim_base_url",
                "SCIM base URL (https://scim.sandbox.test/scim/v2)",
            ),
            secret("scim_token", "SCIM token (any value starting with sandbox-)"),
        ],
        ..app("sandbox_scim", "Sandbox SCIM app", ApiKey, CREATE_SUSPEND_REMOVE)
    },
    App {
        requires_plus_or_premium: false,
        remove_means: "Deletes the user in the sandbox OAuth app.",
        suspend_means: Some("Sets the user inactive in the sandbox OAuth app."),
        ..app("sandbox_oauth", "Sandbox OAuth app", Oauth, CREATE_SUSPEND_REMOVE)
    },
];

pub fn find(slug: &str) -> Option<&'static App> {
    APPS.iter().find(|a| a.slug == slug)
}

/// The apps a service shows: the 19, plus the sandbox apps in sandbox mode.
pub fn directory(sandbox: bool) -> impl Iterator<Item = &'static App> {
    APPS.iter().chain(SANDBOX_APPS.iter().filter(move |_| sandbox))
}

pub fn get(slug: &str, sandbox: bool) -> Result<&'static App> {
    directory(sandbox)
        .find(|a| a.slug == slug)
        .ok_or_else(|| Error::not_found("app"))
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

/// An app as one company sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CompanyApp {
    pub slug: &'static str,
    pub name: &'static str,
    pub connection_type: ConnectionType,
    /// For connected apps: the connection's state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_state: Option<ConnectionState>,
    /// For unavailable apps: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable_reason: Option<String>,
}

/// The company's App directory: apps it has connected, apps it can connect, and apps its
/// plan does not include (with the reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CompanyApps {
    pub connected: Vec<CompanyApp>,
    pub available: Vec<CompanyApp>,
    pub unavailable: Vec<CompanyApp>,
}

pub async fn company_apps(svc: &Services, company: &Company) -> Result<CompanyApps> {
    let connections = connections::summaries(svc, &company.id).await?;
    let mut out = CompanyApps {
        connected: Vec::new(),
        available: Vec::new(),
        unavailable: Vec::new(),
    };
    for app in directory(svc.settings.sandbox) {
        let entry = |connection_state, unavailable_reason| CompanyApp {
            slug: app.slug,
            name: app.name,
            connection_type: app.connection_type,
            connection_state,
            unavailable_reason,
        };
        let connection = connections
            .iter()
            .find(|c| c.app == app.slug && c.state != ConnectionState::Disconnected);
        match (connection, app.allowed_on(company.plan)) {
            (Some(c), _) => out.connected.push(entry(Some(c.state), None)),
            (None, Ok(())) => out.available.push(entry(None, None)),
            (None, Err(why)) => out.unavailable.push(entry(None, Some(why))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nineteen_apps_with_unique_slugs_in_order() {
        assert_eq!(APPS.len(), 19);
        let slugs: Vec<_> = APPS.iter().map(|a| a.slug).collect();
        let mut sorted = slugs.clone();
        sorted.sort_by_key(|s| APPS.iter().find(|a| a.slug == *s).unwrap().name.to_lowercase());
        assert_eq!(slugs, sorted, "directory order is by name");
        sorted.dedup();
        assert_eq!(sorted.len(), 19);
    }

    #[test]
    fn capabilities_follow_the_product_table() {
        let suspendable: Vec<_> = APPS
            .iter()
            .filter(|a| a.capabilities.suspend)
            .map(|a| a.slug)
            .collect();
        assert_eq!(
            suspendable,
            [
                "fifteen_five",
                "box",
                "dropbox",
                "google_workspace",
                "lastpass",
                "microsoft_365",
                "okta",
                "planview_leankit",
                "sauce_labs",
                "trello",
                "zoho"
            ]
        );
        let groups: Vec<_> = APPS
            .iter()
            .filter(|a| a.capabilities.groups)
            .map(|a| a.slug)
            .collect();
        assert_eq!(groups, ["google_workspace"]);
        assert!(
            APPS.iter()
                .all(|a| a.capabilities.create && a.capabilities.delete)
        );
        let free: Vec<_> = APPS
            .iter()
            .filter(|a| !a.requires_plus_or_premium)
            .map(|a| a.slug)
            .collect();
        assert_eq!(free, ["google_workspace", "microsoft_365"]);
    }

    #[test]
    fn api_key_apps_declare_their_fields_and_oauth_apps_none() {
        for a in APPS {
            match a.connection_type {
                ConnectionType::ApiKey => assert!(
                    a.credential_fields.iter().any(|f| f.secret),
                    "{} needs a secret field",
                    a.slug
                ),
                ConnectionType::Oauth => assert!(a.credential_fields.is_empty(), "{}", a.slug),
            }
        }
    }

    #[test]
    fn plan_gating() {
        let slack = find("slack").unwrap();
        assert!(
            slack
                .allowed_on(Plan::Simple)
                .unwrap_err()
                .contains("Plus or Premium")
        );
        assert!(slack.allowed_on(Plan::Plus).is_ok());
        assert!(slack.allowed_on(Plan::Premium).is_ok());
        assert!(find("google_workspace").unwrap().allowed_on(Plan::Simple).is_ok());
        assert!(find("microsoft_365").unwrap().allowed_on(Plan::Simple).is_ok());
    }
}
