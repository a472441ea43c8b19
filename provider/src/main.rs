//! The provider binary: Terraform starts it; everything is in the library.

fn main() -> std::process::ExitCode {
    tfplugin::server::main(
        mto_provider::MtoProvider,
        tfplugin::server::ServeOptions {
            address: mto_provider::PROVIDER_ADDRESS,
            version: env!("CARGO_PKG_VERSION"),
        },
    )
}
