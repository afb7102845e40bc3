//! Editing config.toml in place: tables appended, or removed with
//! toml_edit, so what the user wrote (comments, order, formatting) stays.

use super::{Config, HostConfig, Project};

impl Config {
    /// Appends a `[[project]]` table to the config file (creating it), keeping
    /// everything already there, and adds it to this config.
    pub fn add_project(&mut self, project: Project) -> std::io::Result<()> {
        let mut table = format!(
            "\n[[project]]\nname = {}\npath = {}\n",
            toml::Value::String(project.name.clone()),
            toml::Value::String(project.path.display().to_string()),
        );
        if let Some(host) = &project.host {
            table.push_str(&format!("host = {}\n", toml::Value::String(host.clone())));
        }
        self.append(&table)?;
        self.projects.push(project);
        Ok(())
    }

    /// Appends a `[[host]]` table (the name only: `~/.ssh/config` or the
    /// typed `user@host:port` says the rest).
    pub fn add_host(&mut self, host: HostConfig) -> std::io::Result<()> {
        let mut table = format!(
            "\n[[host]]\nname = {}\n",
            toml::Value::String(host.name.clone())
        );
        let mut field = |key: &str, value: &Option<String>| {
            if let Some(v) = value {
                table.push_str(&format!("{key} = {}\n", toml::Value::String(v.clone())));
            }
        };
        field("hostname", &host.hostname);
        field("user", &host.user);
        field("identity_file", &host.identity_file);
        field("proxy_jump", &host.proxy_jump);
        if let Some(port) = host.port {
            table.push_str(&format!("port = {port}\n"));
        }
        self.append(&table)?;
        self.hosts.push(host);
        Ok(())
    }

    /// Removes the `[[project]]` named `name` from the config file, keeping
    /// everything else as written (comments, order, formatting). False when
    /// there is none.
    pub fn remove_project(&mut self, name: &str) -> std::io::Result<bool> {
        let removed = self.remove_table("project", name)?;
        self.projects.retain(|p| p.name != name);
        Ok(removed)
    }

    /// Removes the `[[host]]` named `name`, as [`Config::remove_project`].
    pub fn remove_host(&mut self, name: &str) -> std::io::Result<bool> {
        let removed = self.remove_table("host", name)?;
        self.hosts.retain(|h| h.name != name);
        Ok(removed)
    }

    fn remove_table(&mut self, array: &str, name: &str) -> std::io::Result<bool> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let mut doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let Some(tables) = doc
            .get_mut(array)
            .and_then(|item| item.as_array_of_tables_mut())
        else {
            return Ok(false);
        };
        let before = tables.len();
        tables.retain(|t| t.get("name").and_then(|n| n.as_str()) != Some(name));
        if tables.len() == before {
            return Ok(false);
        }
        if tables.is_empty() {
            doc.remove(array);
        }
        crate::store::write_atomic(&self.path, doc.to_string().as_bytes())?;
        Ok(true)
    }

    fn append(&mut self, table: &str) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            crate::private::create_dir(dir)?;
        }
        let mut text = std::fs::read_to_string(&self.path).unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(table);
        crate::store::write_atomic(&self.path, text.as_bytes())?;
        self.exists = true;
        Ok(())
    }
}
