//! `cargo run -p abe-demo-generator [OUT_DIR]` writes the demo source files into OUT_DIR
//! (default `deploy/demo/data`, relative to the current directory: run it from the repo
//! root), and the empty workshop workbook to `deploy/workshop/workshop-template.xlsx`
//! when OUT_DIR is the default.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let out_dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("deploy/demo/data"));
    let default_dir = std::env::args_os().nth(1).is_none();
    for (name, good) in abe_demo_generator::generate(&out_dir)? {
        println!("{:<32} {good:>4} good rows", out_dir.join(name).display());
    }
    if default_dir {
        let template = PathBuf::from(abe_demo_generator::TEMPLATE);
        abe_demo_generator::generate_template(&template)?;
        println!("{}", template.display());
    }
    Ok(())
}
