#![no_std]
#![no_main]

linker::entry!("init", init::main);
