-- flowpool 0.1.0's schema on sqlite, as its create_all made it (no revision table).

CREATE TABLE concurrency_limits (
	id VARCHAR(36) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	"limit" INTEGER NOT NULL, 
	slot_decay_per_second FLOAT NOT NULL, 
	active BOOLEAN NOT NULL, 
	created DATETIME NOT NULL, 
	updated DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);

CREATE TABLE deployments (
	id VARCHAR(36) NOT NULL, 
	flow_name VARCHAR(100) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	entrypoint TEXT NOT NULL, 
	path TEXT, 
	description TEXT, 
	version VARCHAR(100), 
	tags TEXT NOT NULL, 
	parameters TEXT NOT NULL, 
	parameter_schema TEXT NOT NULL, 
	enforce_parameter_schema BOOLEAN NOT NULL, 
	work_pool_name VARCHAR(100) NOT NULL, 
	work_queue_name VARCHAR(100) NOT NULL, 
	job_variables TEXT NOT NULL, 
	pull_steps TEXT, 
	concurrency_limit INTEGER, 
	collision_strategy VARCHAR(16) NOT NULL, 
	retries INTEGER NOT NULL, 
	retry_delay_seconds TEXT NOT NULL, 
	timeout_seconds FLOAT, 
	paused BOOLEAN NOT NULL, 
	created DATETIME NOT NULL, 
	updated DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_deployment_name UNIQUE (flow_name, name)
);

CREATE TABLE task_cache (
	"key" VARCHAR(200) NOT NULL, 
	value TEXT, 
	expires_at DATETIME, 
	created DATETIME NOT NULL, 
	updated DATETIME NOT NULL, 
	PRIMARY KEY ("key")
);

CREATE TABLE variables (
	id VARCHAR(36) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	value TEXT, 
	created DATETIME NOT NULL, 
	updated DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);

CREATE TABLE work_pools (
	id VARCHAR(36) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	type VARCHAR(32) NOT NULL, 
	description TEXT, 
	base_job_template TEXT NOT NULL, 
	concurrency_limit INTEGER, 
	paused BOOLEAN NOT NULL, 
	created DATETIME NOT NULL, 
	updated DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);

CREATE TABLE deployment_schedules (
	id VARCHAR(36) NOT NULL, 
	deployment_id VARCHAR(36) NOT NULL, 
	position INTEGER NOT NULL, 
	slug VARCHAR(100), 
	schedule TEXT NOT NULL, 
	active BOOLEAN NOT NULL, 
	parameters TEXT NOT NULL, 
	created DATETIME NOT NULL, 
	updated DATETIME NOT NULL, 
	error TEXT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_deployment_schedule_slug UNIQUE (deployment_id, slug), 
	FOREIGN KEY(deployment_id) REFERENCES deployments (id) ON DELETE CASCADE
);

CREATE INDEX ix_deployment_schedules_deployment_id ON deployment_schedules (deployment_id);

CREATE TABLE work_queues (
	id VARCHAR(36) NOT NULL, 
	work_pool_name VARCHAR(100) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	priority INTEGER NOT NULL, 
	concurrency_limit INTEGER, 
	paused BOOLEAN NOT NULL, 
	description TEXT, 
	created DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_work_queue_name UNIQUE (work_pool_name, name), 
	FOREIGN KEY(work_pool_name) REFERENCES work_pools (name) ON DELETE CASCADE
);

CREATE TABLE flow_runs (
	id VARCHAR(36) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	flow_name VARCHAR(100) NOT NULL, 
	deployment_id VARCHAR(36), 
	deployment_name VARCHAR(100), 
	work_pool_name VARCHAR(100) NOT NULL, 
	work_queue_name VARCHAR(100) NOT NULL, 
	parameters TEXT NOT NULL, 
	job_variables TEXT NOT NULL, 
	tags TEXT NOT NULL, 
	state_type VARCHAR(16) NOT NULL, 
	state_name VARCHAR(50) NOT NULL, 
	state_message TEXT, 
	state_changed DATETIME NOT NULL, 
	attempt INTEGER NOT NULL, 
	retries INTEGER NOT NULL, 
	retry_delay_seconds TEXT NOT NULL, 
	timeout_seconds FLOAT, 
	dispatch_token VARCHAR(36), 
	scheduled_time DATETIME NOT NULL, 
	start_time DATETIME, 
	end_time DATETIME, 
	worker_name VARCHAR(200), 
	result TEXT, 
	result_is_repr BOOLEAN NOT NULL, 
	idempotency_key VARCHAR(300), 
	schedule_id VARCHAR(36), 
	auto_scheduled BOOLEAN NOT NULL, 
	created DATETIME NOT NULL, 
	updated DATETIME NOT NULL, 
	log_bytes BIGINT NOT NULL, 
	log_lines_dropped BIGINT NOT NULL, 
	log_bytes_dropped BIGINT NOT NULL, 
	parent_flow_run_id VARCHAR(36), 
	parent_task_run_id VARCHAR(36), 
	root_flow_run_id VARCHAR(36), 
	PRIMARY KEY (id), 
	FOREIGN KEY(deployment_id) REFERENCES deployments (id) ON DELETE SET NULL, 
	UNIQUE (idempotency_key), 
	FOREIGN KEY(schedule_id) REFERENCES deployment_schedules (id) ON DELETE SET NULL
);

CREATE INDEX ix_flow_runs_created ON flow_runs (created);

CREATE INDEX ix_flow_runs_created_state ON flow_runs (created, state_type);

CREATE INDEX ix_flow_runs_deployment_state ON flow_runs (deployment_id, state_type);

CREATE INDEX ix_flow_runs_parent ON flow_runs (parent_flow_run_id);

CREATE INDEX ix_flow_runs_pool_state ON flow_runs (work_pool_name, state_type);

CREATE INDEX ix_flow_runs_root_state ON flow_runs (root_flow_run_id, state_type);

CREATE INDEX ix_flow_runs_schedule_state ON flow_runs (schedule_id, state_type, scheduled_time);

CREATE INDEX ix_flow_runs_state_scheduled ON flow_runs (state_type, scheduled_time);

CREATE TABLE artifacts (
	id VARCHAR(36) NOT NULL, 
	"key" VARCHAR(200), 
	type VARCHAR(20) NOT NULL, 
	data TEXT, 
	description TEXT, 
	flow_run_id VARCHAR(36) NOT NULL, 
	root_flow_run_id VARCHAR(36) NOT NULL, 
	task_run_id VARCHAR(36), 
	created DATETIME NOT NULL, 
	updated DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(flow_run_id) REFERENCES flow_runs (id) ON DELETE CASCADE
);

CREATE INDEX ix_artifacts_flow_run ON artifacts (flow_run_id, created, id);

CREATE INDEX ix_artifacts_key ON artifacts ("key", created, id);

CREATE TABLE flow_run_states (
	id INTEGER NOT NULL, 
	flow_run_id VARCHAR(36) NOT NULL, 
	type VARCHAR(16) NOT NULL, 
	name VARCHAR(50) NOT NULL, 
	message TEXT, 
	attempt INTEGER NOT NULL, 
	timestamp DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(flow_run_id) REFERENCES flow_runs (id) ON DELETE CASCADE
);

CREATE INDEX ix_flow_run_states_flow_run_id ON flow_run_states (flow_run_id);

CREATE TABLE logs (
	id INTEGER NOT NULL, 
	flow_run_id VARCHAR(36) NOT NULL, 
	timestamp DATETIME NOT NULL, 
	level INTEGER NOT NULL, 
	message TEXT NOT NULL, 
	source VARCHAR(20) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(flow_run_id) REFERENCES flow_runs (id) ON DELETE CASCADE
);

CREATE INDEX ix_logs_run_id ON logs (flow_run_id, id);

CREATE TABLE task_runs (
	id VARCHAR(36) NOT NULL, 
	flow_run_id VARCHAR(36) NOT NULL, 
	root_flow_run_id VARCHAR(36) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	task_key VARCHAR(500) NOT NULL, 
	tags TEXT NOT NULL, 
	state_type VARCHAR(16) NOT NULL, 
	state_name VARCHAR(50) NOT NULL, 
	state_message TEXT, 
	attempt INTEGER NOT NULL, 
	state_count INTEGER NOT NULL, 
	start_time DATETIME, 
	end_time DATETIME, 
	cache_key VARCHAR(500), 
	cache_hit BOOLEAN NOT NULL, 
	result TEXT, 
	error TEXT, 
	history TEXT NOT NULL, 
	created DATETIME NOT NULL, 
	updated DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(flow_run_id) REFERENCES flow_runs (id) ON DELETE CASCADE
);

CREATE INDEX ix_task_runs_flow_run ON task_runs (flow_run_id, created, id);

CREATE INDEX ix_task_runs_root_state ON task_runs (root_flow_run_id, state_type);
