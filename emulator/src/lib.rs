//! Offcloud: a local AWS emulator and test harness for serverless code.
//!
//! See `ARCHITECTURE.md` at the repository root for the bird's-eye view.

pub mod apigw;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod dynamodb;
pub mod faults;
pub mod lambda;
pub mod net;
pub mod rdsdata;
pub mod reload;
pub mod scenario;
pub mod server;
pub mod template;
pub mod trace;
pub mod whole_match;
