/**
 * The tables `--db-init` creates when missing: Nacos 2.2.4's MySQL schema, column for column
 * (docs/config.md#the-mysql-schema), so a Nacos server can be pointed at the same database.
 * We read and write only `config_info` and `his_config_info`; the rest is there for Nacos.
 * `utf8` (3 bytes a character) and `utf8_bin` as Nacos declares them: keys compare byte for byte.
 */
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_bin';

/** The common columns of a config row in the main, beta and tag tables. */
const CONFIG_COLUMNS = `
  data_id varchar(255) NOT NULL,
  group_id varchar(128) NOT NULL,
  content longtext NOT NULL,
  md5 varchar(32) DEFAULT NULL,
  gmt_create datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  gmt_modified datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  src_user text,
  src_ip varchar(50) DEFAULT NULL,
  app_name varchar(128) DEFAULT NULL,
  tenant_id varchar(128) DEFAULT ''`;

/** Quotas per group or tenant (Nacos's capacity tables). */
const CAPACITY_COLUMNS = `
  quota int(10) unsigned NOT NULL DEFAULT 0,
  \`usage\` int(10) unsigned NOT NULL DEFAULT 0,
  max_size int(10) unsigned NOT NULL DEFAULT 0,
  max_aggr_count int(10) unsigned NOT NULL DEFAULT 0,
  max_aggr_size int(10) unsigned NOT NULL DEFAULT 0,
  max_history_count int(10) unsigned NOT NULL DEFAULT 0,
  gmt_create datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  gmt_modified datetime NOT NULL DEFAULT CURRENT_TIMESTAMP`;

export const MYSQL_SCHEMA: readonly string[] = [
  // Nacos declares group_id nullable here only; kept so, as rows Nacos writes may rely on it.
  `CREATE TABLE IF NOT EXISTS config_info (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  ${CONFIG_COLUMNS.replace('group_id varchar(128) NOT NULL', 'group_id varchar(128) DEFAULT NULL')},
  c_desc varchar(256) DEFAULT NULL,
  c_use varchar(64) DEFAULT NULL,
  effect varchar(64) DEFAULT NULL,
  type varchar(64) DEFAULT NULL,
  c_schema text,
  encrypted_data_key text NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_configinfo_datagrouptenant (data_id, group_id, tenant_id)
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS his_config_info (
  id bigint(20) unsigned NOT NULL,
  nid bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  ${CONFIG_COLUMNS},
  op_type char(10) DEFAULT NULL,
  encrypted_data_key text NOT NULL,
  PRIMARY KEY (nid),
  KEY idx_gmt_create (gmt_create),
  KEY idx_gmt_modified (gmt_modified),
  KEY idx_did (data_id)
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS config_info_aggr (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  data_id varchar(255) NOT NULL,
  group_id varchar(128) NOT NULL,
  datum_id varchar(255) NOT NULL,
  content longtext NOT NULL,
  gmt_modified datetime NOT NULL,
  app_name varchar(128) DEFAULT NULL,
  tenant_id varchar(128) DEFAULT '',
  PRIMARY KEY (id),
  UNIQUE KEY uk_configinfoaggr_datagrouptenantdatum (data_id, group_id, tenant_id, datum_id)
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS config_info_beta (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  ${CONFIG_COLUMNS},
  beta_ips varchar(1024) DEFAULT NULL,
  encrypted_data_key text NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_configinfobeta_datagrouptenant (data_id, group_id, tenant_id)
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS config_info_tag (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  ${CONFIG_COLUMNS},
  tag_id varchar(128) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_configinfotag_datagrouptenanttag (data_id, group_id, tenant_id, tag_id)
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS config_tags_relation (
  id bigint(20) NOT NULL,
  tag_name varchar(128) NOT NULL,
  tag_type varchar(64) DEFAULT NULL,
  data_id varchar(255) NOT NULL,
  group_id varchar(128) NOT NULL,
  tenant_id varchar(128) DEFAULT '',
  nid bigint(20) NOT NULL AUTO_INCREMENT,
  PRIMARY KEY (nid),
  UNIQUE KEY uk_configtagrelation_configidtag (id, tag_name, tag_type),
  KEY idx_tenant_id (tenant_id)
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS group_capacity (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  group_id varchar(128) NOT NULL DEFAULT '',
  ${CAPACITY_COLUMNS},
  PRIMARY KEY (id),
  UNIQUE KEY uk_group_id (group_id)
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS tenant_capacity (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  tenant_id varchar(128) NOT NULL DEFAULT '',
  ${CAPACITY_COLUMNS},
  PRIMARY KEY (id),
  UNIQUE KEY uk_tenant_id (tenant_id)
) ${TABLE_OPTIONS}`,
  `CREATE TABLE IF NOT EXISTS tenant_info (
  id bigint(20) NOT NULL AUTO_INCREMENT,
  kp varchar(128) NOT NULL,
  tenant_id varchar(128) DEFAULT '',
  tenant_name varchar(128) DEFAULT '',
  tenant_desc varchar(256) DEFAULT NULL,
  create_source varchar(32) DEFAULT NULL,
  gmt_create bigint(20) NOT NULL,
  gmt_modified bigint(20) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_tenant_info_kptenantid (kp, tenant_id),
  KEY idx_tenant_id (tenant_id)
) ${TABLE_OPTIONS}`,
  // Nacos's console users; Nacos seeds its default user itself in its own script, we do not.
  `CREATE TABLE IF NOT EXISTS users (
  username varchar(50) NOT NULL PRIMARY KEY,
  password varchar(500) NOT NULL,
  enabled boolean NOT NULL
)`,
  `CREATE TABLE IF NOT EXISTS roles (
  username varchar(50) NOT NULL,
  role varchar(50) NOT NULL,
  UNIQUE INDEX idx_user_role (username ASC, role ASC) USING BTREE
)`,
  `CREATE TABLE IF NOT EXISTS permissions (
  role varchar(50) NOT NULL,
  resource varchar(255) NOT NULL,
  action varchar(8) NOT NULL,
  UNIQUE INDEX uk_role_permission (role, resource, action) USING BTREE
)`,
];
