//! The domain of the provisioning service: types, validation, ports and use cases.
//! Nothing here knows about AWS or HTTP; adapters and the HTTP edge live elsewhere.

pub mod access;
pub mod admins;
pub mod audit;
pub mod auth;
pub mod body;
pub mod catalog;
pub mod claims;
pub mod clock;
pub mod companies;
pub mod company;
pub mod company_apps;
pub mod connections;
pub mod connector;
pub mod error;
pub mod first_password;
pub mod keys;
pub mod listing;
pub mod mail;
pub mod migrations;
pub mod provisioning;
pub mod queue;
pub mod schedule;
pub mod secret;
pub mod secrets;
pub mod services;
pub mod sign_in_links;
pub mod store;
pub mod team;
pub mod tokens;
pub mod validate;
pub mod values;
pub mod webhooks;

pub use error::{Category, Error, ErrorDetail, Result};
pub use services::{Services, Settings};
