//! The JetStream API (`$JS.API.>`): subject routing and the serving task.

pub mod route;
pub mod worker;
