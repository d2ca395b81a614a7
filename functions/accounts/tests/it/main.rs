//! HTTP-level tests of the accounts function (with the provision routes beside it), on the
//! embedded store.

mod access;
mod audit;
mod support;
mod team;
