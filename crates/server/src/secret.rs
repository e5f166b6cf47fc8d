//! Where the JWT signing secret comes from: `VERBUND_JWT_SECRET`, `VERBUND_JWT_SECRET_FILE`, or a
//! secret generated on first start and kept in the data folder with mode 0600.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};

use crate::settings::Settings;

pub const GENERATED_SECRET_FILE: &str = "jwt-secret";

pub fn load_or_generate(settings: &Settings) -> anyhow::Result<SecretString> {
    if let Some(secret) = &settings.jwt_secret {
        if secret.expose_secret().trim().is_empty() {
            bail!(
                "VERBUND_JWT_SECRET is set but empty; unset it or give a secret of at least 32 bytes"
            );
        }
        return Ok(secret.clone());
    }
    if let Some(path) = &settings.jwt_secret_file {
        let raw = std::fs::read_to_string(path)
            .with_context(|| format!("reading the JWT secret file {}", path.display()))?;
        let secret = raw.trim().to_owned();
        if secret.is_empty() {
            bail!("the JWT secret file {} is empty", path.display());
        }
        return Ok(secret.into());
    }
    let path = settings.data_dir.join(GENERATED_SECRET_FILE);
    if path.exists() {
        return read_generated(&path);
    }
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating data folder {}", settings.data_dir.display()))?;
    let secret = generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "generated a new JWT signing secret");
            Ok(secret.into())
        }
        // Another instance created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_generated(&path),
        Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
    }
}

fn read_generated(path: &Path) -> anyhow::Result<SecretString> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "{} is readable by others (mode {mode:o}); run chmod 600 on it",
                path.display()
            );
        }
    }
    let secret = std::fs::read_to_string(path)?.trim().to_owned();
    if secret.is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(secret.into())
}

fn generate() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
