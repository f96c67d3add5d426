//! The one integration-test binary. Each module tests one part of the emulator through its real wire.

mod support;

mod apigw;
mod authorizers;
mod clients;
mod dashboard;
mod debug;
mod dynamodb;
mod dynamodb_remote;
mod faults;
mod injection;
mod invoke_api;
mod mapping;
mod otlp;
mod process;
mod properties;
mod rdsdata;
mod rdsdata_server;
mod recording;
mod runtime_api;
mod runtimes;
mod scenarios;
mod servers;
mod templates;
mod traces;
mod watch;
