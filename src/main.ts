import { Hono } from "hono";
import { z } from "zod";
import * as toml from "smol-toml";
import { configure } from "@logtape/logtape";
import { Command } from "commander";
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/server/stdio"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
console.log(Hono, z, toml, configure, Command, McpServer, Client, StdioClientTransport, StdioServerTransport);
