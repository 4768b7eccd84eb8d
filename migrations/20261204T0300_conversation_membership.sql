begin;
-- Whether one user takes part in a conversation, without listing its members.
-- Every message asked conversation_members() twice (the API's access check and
-- the sender check of the insert trigger), a four-way UNION planned into each
-- caller; this answers a direct conversation from its own row and an order's
-- from the order, the partner's users and the admin participants, each an
-- index lookup. The same people as conversation_members() (migrations/…_chat.sql).
create or replace function conversation_has_member(p_conversation_id bigint, p_user_id text) returns boolean
language plpgsql stable as $$
declare
  c record;
begin
  select kind, order_id, direct_user_low, direct_user_high into c from conversations where id = p_conversation_id;
  if not found then
    return false;
  end if;
  if c.kind = 'DIRECT' then
    return p_user_id in (c.direct_user_low, c.direct_user_high);
  end if;
  return exists (select 1 from orders o where o.id = c.order_id and o.customer_id = p_user_id)
      or exists (select 1 from orders o join users u on u.partner_id = o.partner_id where o.id = c.order_id and u.id = p_user_id)
      or exists (
        select 1
        from conversation_participants p
        join users u on u.id = p.user_id and u.role = 'ADMIN'
        where p.conversation_id = p_conversation_id and p.user_id = p_user_id);
end
$$;

-- Who may write in a conversation: its members, and any admin in an order's
-- conversation (writing is how an admin joins it).
create or replace function conversation_writable_by(p_conversation_id bigint, p_user_id text) returns boolean
language plpgsql stable as $$
begin
  return conversation_has_member(p_conversation_id, p_user_id)
      or exists (
        select 1
        from conversations c
        join users u on u.id = p_user_id and u.role = 'ADMIN'
        where c.id = p_conversation_id and c.kind = 'ORDER');
end
$$;
commit;
