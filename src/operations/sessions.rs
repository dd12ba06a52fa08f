//! Sessions: list the live ones (of a realm or a user), end one — for the
//! admin API, the console, the CLI and the account page.
