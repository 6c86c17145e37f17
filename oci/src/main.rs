#![no_std]
#![no_main]

linker::entry!("knocker", oci::main);
