//! The one integration-test binary. Each module tests one part of the emulator through its real wire.

mod support;

mod dynamodb;
mod invoke_api;
