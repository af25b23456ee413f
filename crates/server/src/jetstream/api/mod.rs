//! The JetStream API (`$JS.API.>`): subject routing, the serving task, the handlers.

mod consumers;
pub mod direct;
pub mod handlers;
pub mod route;
pub mod worker;
