fn main() {
    let t = std::time::Instant::now();
    let mut buf = [0u8; 32];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut buf)
        .unwrap();
    println!("first random {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let _ = tfplugin::server::tls::generate_identity().unwrap();
    println!("generate {:?}", t.elapsed());
}
