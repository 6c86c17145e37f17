#![no_std]
#![no_main]

linker::entry!("launcher", launcher::main);
