//! System users and groups, created declaratively instead of by `adduser`
//! and `systemd-sysusers` in maintainer scripts.
//!
//! Sources, in this order (a name already present is never redefined, so
//! earlier sources win and the result does not depend on package order):
//! 1. base-passwd's master files (`/usr/share/base-passwd/{passwd,group}
//!    .master`): the fixed ids Debian reserves (root 0 … nogroup 65534);
//! 2. `sysusers.d` files the packages ship (`/usr/lib/sysusers.d/*.conf`,
//!    by file name, lines in order): systemd's own users, dbus's
//!    `messagebus` and others. `u`, `g` and `m` lines are applied; `r`
//!    lines are ignored (the range is fixed below);
//! 3. [`ADDUSER_TABLE`]: the users that packages the templates use create
//!    with `adduser` in their postinst (data read off those scripts, so it
//!    is reviewed rather than executed);
//! 4. the container's declared groups and users.
//!
//! Dynamic ids are allocated from 999 downwards, skipping used ids, as
//! Debian's `adduser --system` and `systemd-sysusers` do; allocation order
//! is the order above, so ids are deterministic.

use std::collections::{BTreeMap, BTreeSet};

use crate::spec::{GroupSpec, UserSpec};

/// A user `adduser` would create in a package's postinst.
#[derive(Debug, Clone, Copy)]
pub struct AdduserEntry {
    /// Package whose postinst creates the user.
    pub package: &'static str,
    /// User name (a group of the same name is created too).
    pub user: &'static str,
    /// Home directory.
    pub home: &'static str,
    /// GECOS field.
    pub gecos: &'static str,
}

/// Users created by `adduser --system --group` in postinst scripts of
/// packages templates use, as bookworm's scripts create them. Users the
/// other scripts of the tested sets create are covered elsewhere: `_apt`
/// and `www-data` are in base-passwd's master files, `messagebus` in
/// dbus's sysusers.d file.
pub const ADDUSER_TABLE: &[AdduserEntry] = &[AdduserEntry {
    package: "dnsdist",
    user: "_dnsdist",
    home: "/nonexistent",
    gecos: "dnsdist",
}];

/// A passwd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Name.
    pub name: String,
    /// uid.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
    /// GECOS.
    pub gecos: String,
    /// Home directory.
    pub home: String,
    /// Shell.
    pub shell: String,
}

/// A group entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Name.
    pub name: String,
    /// gid.
    pub gid: u32,
    /// Supplementary members.
    pub members: Vec<String>,
}

/// Why users could not be created.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// A master or sysusers file line is malformed.
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// File in the root filesystem.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A declared user names a group that does not exist.
    #[error("user {user}: unknown group {group}")]
    UnknownGroup {
        /// The user.
        user: String,
        /// The group.
        group: String,
    },
    /// A fixed id is taken by another name.
    #[error("{kind} {name}: id {id} is already used by {other}")]
    IdTaken {
        /// `user` or `group`.
        kind: &'static str,
        /// Name asked for.
        name: String,
        /// The id.
        id: u32,
        /// Who has it.
        other: String,
    },
    /// No system id is left in 100..=999.
    #[error("no free system id left for {0}")]
    Exhausted(String),
}

/// The account databases being built.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    users: BTreeMap<String, User>,
    groups: BTreeMap<String, Group>,
    /// Creation order, for file output.
    user_order: Vec<String>,
    group_order: Vec<String>,
}

const NOLOGIN: &str = "/usr/sbin/nologin";

impl Accounts {
    /// Looks a user up.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    /// Looks a group up.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name)
    }

    fn uid_used(&self) -> BTreeSet<u32> {
        self.users.values().map(|u| u.uid).collect()
    }

    fn gid_used(&self) -> BTreeSet<u32> {
        self.groups.values().map(|g| g.gid).collect()
    }

    fn free_id(used: &BTreeSet<u32>, name: &str) -> Result<u32, UsersError> {
        (100..=999)
            .rev()
            .find(|id| !used.contains(id))
            .ok_or_else(|| UsersError::Exhausted(name.to_owned()))
    }

    /// Adds a group unless the name exists; returns its gid.
    pub fn add_group(&mut self, name: &str, gid: Option<u32>) -> Result<u32, UsersError> {
        if let Some(g) = self.groups.get(name) {
            return Ok(g.gid);
        }
        let used = self.gid_used();
        let gid = match gid {
            Some(id) if used.contains(&id) => {
                let other = self
                    .groups
                    .values()
                    .find(|g| g.gid == id)
                    .map(|g| g.name.clone())
                    .unwrap_or_default();
                return Err(UsersError::IdTaken {
                    kind: "group",
                    name: name.to_owned(),
                    id,
                    other,
                });
            }
            Some(id) => id,
            None => Self::free_id(&used, name)?,
        };
        self.groups.insert(
            name.to_owned(),
            Group {
                name: name.to_owned(),
                gid,
                members: Vec::new(),
            },
        );
        self.group_order.push(name.to_owned());
        Ok(gid)
    }

    /// Adds a user unless the name exists. Without a group, a group named
    /// as the user is created (with the uid as gid when that is free).
    pub fn add_user(&mut self, mut user: User, group: Option<&str>) -> Result<(), UsersError> {
        if self.users.contains_key(&user.name) {
            return Ok(());
        }
        let used = self.uid_used();
        if user.uid == u32::MAX {
            // Prefer an id free both as uid and gid, so the user's own
            // group can share it.
            let both: BTreeSet<u32> = used.union(&self.gid_used()).copied().collect();
            user.uid =
                Self::free_id(&both, &user.name).or_else(|_| Self::free_id(&used, &user.name))?;
        } else if used.contains(&user.uid) {
            let other = self
                .users
                .values()
                .find(|u| u.uid == user.uid)
                .map(|u| u.name.clone())
                .unwrap_or_default();
            return Err(UsersError::IdTaken {
                kind: "user",
                name: user.name,
                id: user.uid,
                other,
            });
        }
        user.gid = match group {
            Some(g) => {
                self.groups
                    .get(g)
                    .map(|g| g.gid)
                    .ok_or_else(|| UsersError::UnknownGroup {
                        user: user.name.clone(),
                        group: g.to_owned(),
                    })?
            }
            None => {
                let wanted = (!self.gid_used().contains(&user.uid)).then_some(user.uid);
                self.add_group(&user.name.clone(), wanted)?
            }
        };
        self.user_order.push(user.name.clone());
        self.users.insert(user.name.clone(), user);
        Ok(())
    }

    /// Adds `user` to `group`'s member list.
    pub fn add_member(&mut self, user: &str, group: &str) -> Result<(), UsersError> {
        let g = self
            .groups
            .get_mut(group)
            .ok_or_else(|| UsersError::UnknownGroup {
                user: user.to_owned(),
                group: group.to_owned(),
            })?;
        if !g.members.iter().any(|m| m == user) {
            g.members.push(user.to_owned());
        }
        Ok(())
    }

    /// Reads base-passwd's `passwd.master` and `group.master`.
    pub fn load_masters(&mut self, passwd: &str, group: &str) -> Result<(), UsersError> {
        for (i, line) in group.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(':').collect();
            let gid = f.get(2).and_then(|s| s.parse().ok());
            match (f.len(), gid) {
                (4, Some(gid)) => {
                    self.add_group(f[0], Some(gid))?;
                }
                _ => {
                    return Err(UsersError::Syntax {
                        file: "/usr/share/base-passwd/group.master".to_owned(),
                        line: i + 1,
                        message: "expected name:password:gid:members".to_owned(),
                    });
                }
            }
        }
        for (i, line) in passwd.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(':').collect();
            let syntax = || UsersError::Syntax {
                file: "/usr/share/base-passwd/passwd.master".to_owned(),
                line: i + 1,
                message: "expected name:password:uid:gid:gecos:home:shell".to_owned(),
            };
            if f.len() != 7 {
                return Err(syntax());
            }
            let uid: u32 = f[2].parse().map_err(|_| syntax())?;
            let gid: u32 = f[3].parse().map_err(|_| syntax())?;
            let group = self
                .groups
                .values()
                .find(|g| g.gid == gid)
                .map(|g| g.name.clone())
                .ok_or_else(syntax)?;
            self.add_user(
                User {
                    name: f[0].to_owned(),
                    uid,
                    gid,
                    gecos: f[4].to_owned(),
                    home: f[5].to_owned(),
                    shell: f[6].to_owned(),
                },
                Some(&group),
            )?;
        }
        Ok(())
    }

    /// Applies one `sysusers.d` file.
    pub fn apply_sysusers(&mut self, file: &str, text: &str) -> Result<(), UsersError> {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let syntax = |message: &str| UsersError::Syntax {
                file: file.to_owned(),
                line: i + 1,
                message: message.to_owned(),
            };
            let fields = split_quoted(line).map_err(&syntax)?;
            let get = |n: usize| {
                fields
                    .get(n)
                    .map(String::as_str)
                    .filter(|s| *s != "-" && !s.is_empty())
            };
            let kind = get(0).ok_or_else(|| syntax("empty line type"))?;
            let name = get(1).ok_or_else(|| syntax("missing name"))?;
            match kind {
                "g" => {
                    let gid = get(2)
                        .map(|s| s.parse::<u32>().map_err(|_| syntax("gid is not a number")))
                        .transpose()?;
                    self.add_group(name, gid)?;
                }
                "u" | "u!" => {
                    let (uid, group) = match get(2) {
                        None => (None, None),
                        Some(id) => {
                            let (u, g) = id.split_once(':').unwrap_or((id, ""));
                            let uid = u
                                .parse::<u32>()
                                .map_err(|_| syntax("uid is not a number"))?;
                            let group = if g.is_empty() {
                                None
                            } else if let Ok(gid) = g.parse::<u32>() {
                                self.groups
                                    .values()
                                    .find(|x| x.gid == gid)
                                    .map(|x| x.name.clone())
                            } else {
                                Some(g.to_owned())
                            };
                            (Some(uid), group)
                        }
                    };
                    let group = match group {
                        Some(g) => Some(g),
                        None if self.groups.contains_key(name) => Some(name.to_owned()),
                        None => None,
                    };
                    self.add_user(
                        User {
                            name: name.to_owned(),
                            uid: uid.unwrap_or(u32::MAX),
                            gid: 0,
                            gecos: get(3).unwrap_or("").to_owned(),
                            home: get(4).unwrap_or("/").to_owned(),
                            shell: get(5).unwrap_or(NOLOGIN).to_owned(),
                        },
                        group.as_deref(),
                    )?;
                }
                "m" => {
                    let group = get(2).ok_or_else(|| syntax("m line without a group"))?;
                    self.add_group(group, None)?;
                    self.add_member(name, group)?;
                }
                "r" => {}
                other => return Err(syntax(&format!("unknown line type {other:?}"))),
            }
        }
        Ok(())
    }

    /// Applies the declared groups and users.
    pub fn apply_spec(
        &mut self,
        groups: &[GroupSpec],
        users: &[UserSpec],
    ) -> Result<(), UsersError> {
        for g in groups {
            self.add_group(&g.name, g.gid)?;
        }
        for u in users {
            self.add_user(
                User {
                    name: u.name.clone(),
                    uid: u.uid.unwrap_or(u32::MAX),
                    gid: 0,
                    gecos: String::new(),
                    home: u.home.clone().unwrap_or_else(|| "/nonexistent".to_owned()),
                    shell: u.shell.clone().unwrap_or_else(|| NOLOGIN.to_owned()),
                },
                u.group.as_deref(),
            )?;
            for g in &u.extra_groups {
                self.add_member(&u.name, g)?;
            }
        }
        Ok(())
    }

    /// `/etc/passwd`, `/etc/shadow`, `/etc/group`, `/etc/gshadow`, in
    /// creation order. Every password is locked (`*` in shadow, `!` in
    /// gshadow); the last-change field is empty, since a date would make
    /// the template depend on the build day.
    pub fn render(&self) -> [(String, String); 4] {
        let mut passwd = String::new();
        let mut shadow = String::new();
        for name in &self.user_order {
            let u = &self.users[name];
            passwd.push_str(&format!(
                "{}:x:{}:{}:{}:{}:{}\n",
                u.name, u.uid, u.gid, u.gecos, u.home, u.shell
            ));
            shadow.push_str(&format!("{}:*::0:99999:7:::\n", u.name));
        }
        let mut group = String::new();
        let mut gshadow = String::new();
        for name in &self.group_order {
            let g = &self.groups[name];
            let members = g.members.join(",");
            group.push_str(&format!("{}:x:{}:{members}\n", g.name, g.gid));
            gshadow.push_str(&format!("{}:*::{members}\n", g.name));
        }
        [
            ("etc/passwd".to_owned(), passwd),
            ("etc/shadow".to_owned(), shadow),
            ("etc/group".to_owned(), group),
            ("etc/gshadow".to_owned(), gshadow),
        ]
    }
}

/// Splits a sysusers line into fields, honouring double quotes.
fn split_quoted(line: &str) -> Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut has = false;
    for c in line.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                has = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            c => {
                cur.push(c);
                has = true;
            }
        }
    }
    if in_quotes {
        return Err("unterminated quote");
    }
    if has {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:*:0:0:root:/root:/bin/bash\nnobody:*:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
    const GROUP: &str = "root:*:0:\nadm:*:4:\nnogroup:*:65534:\n";

    #[test]
    fn masters_then_sysusers_then_spec_allocate_deterministically() {
        let mut a = Accounts::default();
        a.load_masters(PASSWD, GROUP).unwrap();
        a.apply_sysusers(
            "/usr/lib/sysusers.d/systemd.conf",
            "# comment\ng systemd-journal - -\nu systemd-network - \"systemd Network Management\"\nu root 0 \"dup ignored\"\nm systemd-network adm\n",
        )
        .unwrap();
        a.apply_spec(
            &[GroupSpec {
                name: "web".into(),
                gid: Some(2000),
            }],
            &[UserSpec {
                extra_groups: vec!["adm".into()],
                ..UserSpec::system("svc")
            }],
        )
        .unwrap();
        let [(_, passwd), (_, shadow), (_, group), (_, gshadow)] = a.render();
        assert_eq!(
            passwd,
            "root:x:0:0:root:/root:/bin/bash\n\
             nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
             systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin\n\
             svc:x:997:997::/nonexistent:/usr/sbin/nologin\n"
        );
        assert_eq!(
            group,
            "root:x:0:\nadm:x:4:systemd-network,svc\nnogroup:x:65534:\n\
             systemd-journal:x:999:\nsystemd-network:x:998:\nweb:x:2000:\nsvc:x:997:\n"
        );
        assert!(shadow.starts_with("root:*::0:99999:7:::\n"));
        assert!(gshadow.contains("adm:*::systemd-network,svc\n"));
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let mut a = Accounts::default();
        let e = a
            .apply_sysusers("/x.conf", "g ok -\nu \"broken - \n")
            .unwrap_err();
        assert_eq!(e.to_string(), "/x.conf:2: unterminated quote");
        let e = a.apply_sysusers("/x.conf", "z what\n").unwrap_err();
        assert!(e.to_string().contains("unknown line type"), "{e}");
        let e = a
            .apply_spec(
                &[],
                &[UserSpec {
                    group: Some("nope".into()),
                    ..UserSpec::system("u")
                }],
            )
            .unwrap_err();
        assert_eq!(e.to_string(), "user u: unknown group nope");
        let e = a
            .apply_spec(
                &[GroupSpec {
                    name: "other".into(),
                    gid: Some(999),
                }],
                &[],
            )
            .unwrap_err();
        assert!(e.to_string().contains("already used by ok"), "{e}");
    }
}
