//! Generates the Sparkplug B payload types from `proto/sparkplug_b.proto` (protox parses it in
//! pure Rust; prost-build writes the types into OUT_DIR).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/sparkplug_b.proto");
    let descriptors = protox::compile(["proto/sparkplug_b.proto"], ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
